"""The purposes for which Linli processes personal data, declared once in code.

Core purposes rest on a basis other than consent (PIPL art. 13: contract, legal duty, vital
interest); they run for everyone and refusing an optional purpose never touches them. Optional
purposes need the resident's own consent (a guardian's for a child under 14), one record per
purpose; sensitive ones (PIPL art. 28) say why they are needed and what they mean for the person.

``NOTICE_VERSION`` is the version of the privacy notice. A purpose's ``changed_in`` is the
notice version that introduced or last changed it (a new use, a new recipient): a consent given
under an older notice no longer counts for that purpose and the resident is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from linli.core.i18n import N_

NOTICE_VERSION = 1
NOTICE_DATE = "2026-12-05"

# Modules that process sensitive personal information and are off in a community until an
# administrator turns them on with a recorded impact assessment (checklist rows P10, P11).
SENSITIVE_MODULES: dict[str, str] = {
    "health_monitoring": N_("Health monitoring with care wearables"),
}


@dataclass(frozen=True)
class Purpose:
    """One purpose: what it is, why, how long, on what basis, and whether it needs consent."""

    id: str
    name_zh: str
    name_en: str
    explanation: str  # plain words, translated through the catalogue (English msgid)
    retention: str  # translated through the catalogue
    legal_basis: str  # consent, contract, legal_duty, vital_interest, public_interest
    optional: bool
    sensitive: bool = False
    # For sensitive purposes: why it is needed and what it means for the person (PIPL art. 30).
    necessity: str = ""
    impact: str = ""
    changed_in: int = 1
    # A sensitive module that must be switched on in the community first (P11).
    module: str | None = None

    @property
    def needs_consent(self) -> bool:
        return self.optional


CORE: tuple[Purpose, ...] = (
    Purpose(
        id="residence",
        name_zh="住户登记与社区服务",
        name_en="Residence register and community services",
        explanation=N_(
            "Knowing who lives in which home, so that the community can serve you, reach you and "
            "send you notices."
        ),
        retention=N_("While you live in the community; deleted or made anonymous after you leave."),
        legal_basis="contract",
        optional=False,
    ),
    Purpose(
        id="repairs",
        name_zh="报事报修与投诉",
        name_en="Reports, repairs and complaints",
        explanation=N_(
            "Handling what you report and telling you how it goes: your name, home, the text you "
            "write and the people who work on it."
        ),
        retention=N_("3 years after the report."),
        legal_basis="contract",
        optional=False,
    ),
    Purpose(
        id="fees",
        name_zh="物业费用",
        name_en="Property fees",
        explanation=N_("Working out and collecting property fees for your home."),
        retention=N_("As long as accounting law requires."),
        legal_basis="contract",
        optional=False,
    ),
    Purpose(
        id="voting",
        name_zh="业主投票与议事",
        name_en="Owners' votes and suggestions",
        explanation=N_(
            "Making sure each voter votes once and the quorum is met (Civil Code art. 278). Your "
            "ballot is stored apart from your name."
        ),
        retention=N_("5 years after the vote."),
        legal_basis="legal_duty",
        optional=False,
    ),
    Purpose(
        id="safety",
        name_zh="报警与应急",
        name_en="Alarms and emergencies",
        explanation=N_(
            "Smoke, gas and water alarms in shared spaces, emergency check-ins and calling for "
            "help: used to protect life and property."
        ),
        retention=N_("1 to 5 years, depending on the record."),
        legal_basis="vital_interest",
        optional=False,
    ),
)

OPTIONAL: tuple[Purpose, ...] = (
    Purpose(
        id="health_monitoring",
        name_zh="健康监测（长者手环）",
        name_en="Health monitoring (care wearable)",
        explanation=N_(
            "A care wearable sends your heart rate, blood oxygen and falls, so that staff and "
            "your family are alerted when something is wrong."
        ),
        necessity=N_(
            "Needed only if you want a care wearable: without these readings no alarm can be "
            "raised for you."
        ),
        impact=N_(
            "Health readings are sensitive: they could reveal illness. Only the staff who answer "
            "alarms see them; they are kept for at most one year."
        ),
        retention=N_("Readings up to 1 year; alarms 2 years."),
        legal_basis="consent",
        optional=True,
        sensitive=True,
        module="health_monitoring",
    ),
    Purpose(
        id="evacuation_needs",
        name_zh="应急疏散协助登记",
        name_en="Help to leave in an emergency",
        explanation=N_(
            "Staff note that you need help to leave the building (walking, sight, hearing, other) "
            "so that someone comes to your door in an emergency."
        ),
        necessity=N_("Needed only if you want door-to-door help in an emergency."),
        impact=N_(
            "It reveals a disability or a health condition. Only the staff who organise "
            "evacuation in your building see it, and every look is recorded."
        ),
        retention=N_("Until you withdraw or leave the community."),
        legal_basis="consent",
        optional=True,
        sensitive=True,
    ),
    Purpose(
        id="images",
        name_zh="照片（报事报修附图）",
        name_en="Photos attached to your reports",
        explanation=N_(
            "You can add photos to a report so that whoever fixes the problem sees it. Photos may "
            "show people or the inside of your home."
        ),
        necessity=N_("Needed only if you want to attach photos; a report without photos works."),
        impact=N_(
            "A photo can show faces or your home. Its location and camera data are removed; only "
            "the people who may see the report see it."
        ),
        retention=N_("As long as the report."),
        legal_basis="consent",
        optional=True,
        sensitive=True,
    ),
    Purpose(
        id="precise_location",
        name_zh="精确位置",
        name_en="Precise location",
        explanation=N_(
            "You can mark on a map exactly where a problem is, using your phone's position."
        ),
        necessity=N_(
            "Needed only if you want to send a map position; you can describe the place in words "
            "instead."
        ),
        impact=N_(
            "A precise position tells where you were at that moment. It is kept with the report "
            "and shown only to the people who may see the report."
        ),
        retention=N_("As long as the report."),
        legal_basis="consent",
        optional=True,
        sensitive=True,
    ),
    Purpose(
        id="points_programme",
        name_zh="积分计划与排行榜",
        name_en="Points programme and leaderboard",
        explanation=N_(
            "Your household earns points for sorting waste and volunteering and may appear, under "
            "a name you choose, on the community leaderboard."
        ),
        retention=N_("While your household is registered."),
        legal_basis="consent",
        optional=True,
    ),
)

PURPOSES: dict[str, Purpose] = {p.id: p for p in CORE + OPTIONAL}


def get(purpose_id: str) -> Purpose:
    """The purpose with this id (KeyError if there is none)."""
    return PURPOSES[purpose_id]


def optional() -> list[Purpose]:
    """Purposes that need consent, in the order the notice and the consent page show them."""
    return [p for p in PURPOSES.values() if p.optional]


def core() -> list[Purpose]:
    """Purposes that run on a basis other than consent."""
    return [p for p in PURPOSES.values() if not p.optional]
