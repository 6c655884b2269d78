"""The link map: which columns tie a row of each table to a resident, household or account.

Export (PIPL art. 45) and erasure (art. 47) walk this map instead of knowing every domain's
models: a ``Link`` names the columns that point at the subject (``owner`` columns: the row is
theirs; ``actor`` columns: they did something on someone else's record), or the parent table
the row hangs from, and what erasure does to the subject's rows. ``UNLINKED`` lists tables with
personal data about a person that cannot be tied back to one (keyed digests), with the reason.
``tests/privacy/test_subject.py`` fails when a table about a resident, household or account is
in neither, so a new table cannot silently escape export and erasure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Key(StrEnum):
    """Which identifier of the subject a column holds."""

    RESIDENT = "resident"  # residents.id
    HOUSEHOLD = "household"  # households.id
    ACCOUNT = "account"  # accounts.id
    USERNAME = "username"  # accounts.username
    VOTER = "voter"  # poll voter key: resident:<id> or household:<id>


class Action(StrEnum):
    """What erasure does to the subject's own rows of a table."""

    DELETE = "delete"
    ANONYMISE = "anonymise"  # keep the row (aggregates, legal hold), clear ``clear`` columns
    KEEP = "keep"  # legal hold; the row holds no identifier once the person rows are scrubbed
    SPECIAL = "special"  # residents, accounts, households: handled by linli.privacy.subject


@dataclass(frozen=True)
class Link:
    """How rows of ``table`` are tied to a subject and what erasure does to them."""

    table: str
    owner: tuple[tuple[str, Key], ...] = ()
    actor: tuple[tuple[str, Key], ...] = ()
    # Rows hanging from a linked parent: (column here, parent table) — parent's ``id``.
    parent: tuple[str, str] | None = None
    # Rows a linked child points at: (child table, child's column holding our ``id``).
    through_child: tuple[str, str] | None = None
    action: Action = Action.KEEP
    # ANONYMISE: column → value written (None: NULL; "erased": a per-row placeholder).
    clear: dict[str, object] = field(default_factory=dict)
    # Household rows are erased only when the subject was the household's last member.
    household_owned: bool = False


R, H, A, U, V = Key.RESIDENT, Key.HOUSEHOLD, Key.ACCOUNT, Key.USERNAME, Key.VOTER
ERASED = "erased"

LINKS: tuple[Link, ...] = (
    # resident and account: the person rows themselves
    Link("residents", owner=(("id", R),), action=Action.SPECIAL),
    Link("households", owner=(("id", H),), action=Action.SPECIAL, household_owned=True),
    Link("accounts", owner=(("resident_id", R),), action=Action.SPECIAL),
    Link(
        "role_grants",
        owner=(("account_id", A),),
        actor=(("granted_by_account_id", A),),
        action=Action.DELETE,
    ),
    Link(
        "auth_sessions",
        owner=(("account_id", A),),
        actor=(("on_behalf_of_resident_id", R),),
        action=Action.DELETE,
    ),
    Link("api_keys", owner=(("account_id", A),), action=Action.DELETE),
    Link("mfa_credentials", owner=(("account_id", A),), action=Action.DELETE),
    Link("mfa_recovery_codes", owner=(("account_id", A),), action=Action.DELETE),
    Link("login_attempts", owner=(("username", U),), action=Action.DELETE),
    # audit: legal hold, never changed (it holds ids, never names, phones or ID numbers)
    Link(
        "audit_events",
        owner=(("subject_resident_id", R), ("on_behalf_of_resident_id", R)),
        actor=(("actor_account_id", A),),
        action=Action.KEEP,
    ),
    # alarm
    Link("alarms", actor=(("acknowledged_by_account_id", A),)),
    Link("alarm_events", actor=(("account_id", A),)),
    # notification
    Link("notifications", owner=(("account_id", A),), action=Action.DELETE),
    Link("notification_preferences", owner=(("account_id", A),), action=Action.DELETE),
    # case: the problem stays, the reporter goes
    Link(
        "cases",
        owner=(("reporter_resident_id", R), ("reporter_account_id", A)),
        actor=(("filed_by_account_id", A), ("assignee_account_id", A)),
        action=Action.ANONYMISE,
        clear={"reporter_resident_id": None, "reporter_account_id": None, "rating_comment": None},
    ),
    Link("case_events", parent=("case_id", "cases"), actor=(("account_id", A),)),
    Link("case_followers", owner=(("account_id", A),), action=Action.DELETE),
    Link(
        "case_photos",
        parent=("case_id", "cases"),
        actor=(("account_id", A),),
        action=Action.DELETE,
    ),
    # proposal
    Link(
        "proposals",
        owner=(("author_resident_id", R), ("author_account_id", A)),
        actor=(("answered_by", A), ("moderated_by", A)),
        action=Action.ANONYMISE,
        clear={"author_resident_id": None, "author_account_id": None},
    ),
    Link(
        "proposal_supports",
        owner=(("resident_id", R), ("account_id", A)),
        action=Action.DELETE,
    ),
    Link("proposal_events", actor=(("account_id", A),)),
    # poll: the roll is kept (one vote per voter, quorum), without the voter
    Link("polls", actor=(("created_by_account_id", A),)),
    Link(
        "poll_voters",
        owner=(("voter_key", V),),
        actor=(("recorded_by_account_id", A),),
        action=Action.ANONYMISE,
        clear={"voter_key": ERASED, "option_id": None},
    ),
    # notice
    Link("notices", actor=(("created_by_account_id", A),)),
    Link("notice_reads", owner=(("account_id", A),), action=Action.DELETE),
    Link("emergency_broadcasts", actor=(("created_by_account_id", A),)),
    Link(
        "emergency_responses",
        owner=(("resident_id", R),),
        actor=(("recorded_by_account_id", A),),
        action=Action.ANONYMISE,
        clear={"note": None},
    ),
    # environment
    Link("environment_place_settings", actor=(("updated_by_account_id", A),)),
    Link("environment_water_monitors", actor=(("updated_by_account_id", A),)),
    # waste: disposals stay for sorting rates, the card is retired
    Link(
        "waste_cards",
        owner=(("household_id", H),),
        action=Action.ANONYMISE,
        clear={"card_digest": ERASED, "hint": None, "active": False},
        household_owned=True,
    ),
    Link("waste_disposals", owner=(("household_id", H),), household_owned=True),
    Link(
        "waste_grades",
        parent=("disposal_id", "waste_disposals"),
        actor=(("graded_by_account_id", A),),
    ),
    Link("waste_plans", actor=(("created_by_account_id", A),)),
    # points: the ledger is kept (legal hold), without names or memos
    Link("points_accounts", owner=(("household_id", H),), household_owned=True),
    Link(
        "points_transactions",
        owner=(("household_id", H),),
        actor=(("recorded_by_account_id", A),),
        household_owned=True,
    ),
    Link("points_entries", parent=("account_id", "points_accounts")),
    Link(
        "points_redemptions",
        owner=(("household_id", H),),
        actor=(("requested_by_account_id", A), ("decided_by_account_id", A)),
        household_owned=True,
    ),
    Link(
        "points_leaderboard",
        owner=(("household_id", H),),
        action=Action.ANONYMISE,
        clear={"display_name": None, "opted_in": False},
        household_owned=True,
    ),
    Link("points_rules", actor=(("updated_by_account_id", A),)),
    # incident
    Link("incidents", actor=(("commander_account_id", A), ("created_by_account_id", A))),
    Link("incident_events", actor=(("actor_account_id", A),)),
    Link("incident_help_answers", parent=("response_id", "emergency_responses")),
    Link("responders", owner=(("account_id", A),), action=Action.DELETE),
    Link(
        "dispatch_offers",
        parent=("responder_id", "responders"),
        action=Action.DELETE,
    ),
    Link(
        "evacuation_needs",
        owner=(("resident_id", R),),
        actor=(("recorded_by_account_id", A),),
        action=Action.DELETE,
    ),
    # sharing: the disclosure log is kept (legal hold); the payload loses the identifiers
    Link("share_recipients", actor=(("created_by_account_id", A),)),
    Link("disclosure_residents", owner=(("resident_id", R),)),
    Link("disclosures", through_child=("disclosure_residents", "disclosure_id")),
    # privacy: consent records are kept as proof of consent; guardian links go
    Link(
        "consents",
        owner=(("resident_id", R), ("guardian_resident_id", R), ("guardian_account_id", A)),
        actor=(("actor_account_id", A), ("withdrawn_by_account_id", A)),
    ),
    Link(
        "consent_guardians",
        owner=(("child_resident_id", R), ("guardian_account_id", A)),
        actor=(("linked_by_account_id", A),),
        action=Action.DELETE,
    ),
    Link("privacy_impact_assessments", actor=(("recorded_by_account_id", A),)),
    Link("privacy_modules", actor=(("updated_by_account_id", A),)),
    # privacy: the request log is kept (PIPL art. 50), without the person's free text
    Link(
        "privacy_requests",
        owner=(("resident_id", R), ("account_id", A)),
        actor=(("handled_by_account_id", A), ("filed_by_account_id", A)),
        action=Action.ANONYMISE,
        clear={"new_value": None, "reason": ""},
    ),
    Link(
        "privacy_export_links",
        owner=(("resident_id", R),),
        actor=(("created_by_account_id", A),),
        action=Action.DELETE,
    ),
)

# Append-only tables (database triggers refuse changes): kept whole under legal hold. Their
# free text (the ledger's memo, the audit reason) is written by staff and names nobody.
APPEND_ONLY: frozenset[str] = frozenset({"audit_events", "points_transactions", "points_entries"})

UNLINKED: dict[str, str] = {
    "rate_limit_hits": "keyed digests of an address or account, never the value; gone in a day",
}

BY_TABLE: dict[str, Link] = {link.table: link for link in LINKS}

# Columns never exported: secrets and digests that would help nobody but an attacker.
SECRET_COLUMNS: frozenset[str] = frozenset(
    {
        "accounts.password_hash",
        "auth_sessions.token_hash",
        "auth_sessions.csrf_secret",
        "api_keys.secret_hash",
        "mfa_credentials.secret",
        "mfa_recovery_codes.code_hash",
        "residents.phone_digest",
        "residents.id_number_digest",
        "waste_cards.card_digest",
        "privacy_export_links.token_digest",
        "share_recipients.signing_key",
        "share_recipients.feed_token_digest",
        "audit_events.prev_hash",
        "audit_events.hash",
    }
)


def erase_order() -> list[Link]:
    """Links with children before the parents they point at (deletes need that order)."""
    done: list[Link] = []
    pending = list(LINKS)
    while pending:
        for link in list(pending):
            children = [
                other
                for other in pending
                if other is not link and other.parent is not None and other.parent[1] == link.table
            ]
            if not children:
                done.append(link)
                pending.remove(link)
    return done
