"""Poll use cases: set up, open, close, vote (online, on paper, assisted), count and verify."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core import kanon
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.place import service as place_service
from linli.points import service as points_service
from linli.poll import permissions, repository, tally
from linli.poll.models import Ballot, Poll, PollOption, PollVoter
from linli.poll.schemas import (
    MyVote,
    OptionRead,
    OptionResult,
    PaperBallot,
    PollCreate,
    PollRead,
    PollResults,
    Receipt,
    ReceiptCheck,
)
from linli.resident import service as resident_service

ELIGIBILITY_PURPOSE = "poll eligibility (adulthood) for poll %d"


def receipt_hash(receipt: str) -> str:
    """The SHA-256 a ballot keeps of the voter's receipt."""
    return hashlib.sha256(receipt.encode()).hexdigest()


# --- electorates ----------------------------------------------------------------------------


def electorate_of(electorate: str, facts: list[resident_service.VoterFacts]) -> dict[str, Decimal]:
    """Voter key → ballot weight for every eligible voter among ``facts``.

    adult_residents: each adult resident, weight 1. one_per_household: each household with an
    adult, weight 1 (any adult of it may cast the household's one ballot). owners_by_area: each
    dwelling with an owner and a recorded floor area, weighted by that area — the judicial
    interpretation of art. 278 counts one owner per dwelling (专有部分按一人计算).
    """
    voters: dict[str, Decimal] = {}
    for f in facts:
        if electorate == "adult_residents":
            if f.is_adult:
                voters[f"resident:{f.resident_id}"] = Decimal(1)
        elif electorate == "one_per_household":
            if f.is_adult and f.household_id is not None:
                voters[f"household:{f.household_id}"] = Decimal(1)
        elif f.is_owner and f.household_id is not None and f.area_m2 is not None and f.area_m2 > 0:
            voters[f"household:{f.household_id}"] = Decimal(f.area_m2)
    return voters


def _facts(
    db: Session, actor: Actor, poll: Poll, resident_id: int | None = None
) -> list[resident_service.VoterFacts]:
    return resident_service.voter_facts(
        db,
        actor,
        place_path=poll.place_path,
        place_id=poll.place_id,
        purpose=ELIGIBILITY_PURPOSE % poll.id,
        resident_id=resident_id,
    )


def voter_of(db: Session, actor: Actor, poll: Poll, resident_id: int) -> tuple[str, Decimal] | None:
    """The voter key and weight of ``resident_id`` in ``poll``, or None when not eligible."""
    found = electorate_of(poll.electorate, _facts(db, actor, poll, resident_id))
    return next(iter(found.items()), None)


# --- reads ----------------------------------------------------------------------------------


def _home_path(db: Session, actor: Actor) -> str | None:
    rid = actor.effective_resident_id
    return resident_service.place_path_of(db, rid) if rid is not None else None


def _visible(db: Session, actor: Actor, poll_id: int) -> Poll:
    poll = repository.get(db, poll_id)
    if poll is None or not permissions.can_view(actor, poll, _home_path(db, actor)):
        raise NotFound(_("No such poll."))
    return poll


def _managed(db: Session, actor: Actor, poll_id: int) -> Poll:
    poll = _visible(db, actor, poll_id)
    if not permissions.can_manage(actor, poll.place_path):
        raise PermissionDenied(_("You may not manage this poll."))
    return poll


def to_read(db: Session, poll: Poll) -> PollRead:
    return PollRead(
        id=poll.id,
        place_id=poll.place_id,
        title=poll.title,
        description=poll.description,
        electorate=poll.electorate,
        matter=poll.matter,
        secret=poll.secret,
        public_results=poll.public_results,
        opens_at=poll.opens_at,
        closes_at=poll.closes_at,
        status=poll.status,
        electorate_size=poll.electorate_size,
        ballots_cast=poll.ballots_cast,
        options=[OptionRead.model_validate(o) for o in repository.options(db, poll.id)],
    )


def get(db: Session, actor: Actor, poll_id: int) -> PollRead:
    return to_read(db, _visible(db, actor, poll_id))


def list_polls(db: Session, actor: Actor, paging: PageParams) -> Page[PollRead]:
    """Polls the actor may see, newest first."""
    condition = permissions.visible(actor, _home_path(db, actor))
    polls, total = repository.listed(db, condition, offset=paging.offset, limit=paging.size)
    return Page(
        items=[to_read(db, p) for p in polls], total=total, page=paging.page, size=paging.size
    )


def may_manage_any(actor: Actor) -> bool:
    return bool(actor.roles & permissions.POLL_ADMIN_ROLES)


def can_manage(actor: Actor, poll: PollRead | Poll, db: Session) -> bool:
    return permissions.can_manage(actor, place_service.get(db, poll.place_id).path)


# --- setting up -----------------------------------------------------------------------------


def create(db: Session, actor: Actor, data: PollCreate) -> Poll:
    """A draft poll at a place; nobody but staff sees it until it opens."""
    place = place_service.get(db, data.place_id)
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not set up polls here."))
    poll = Poll(
        place_id=place.id,
        place_path=place.path,
        title=data.title,
        description=data.description,
        electorate=data.electorate,
        matter=data.matter,
        secret=data.secret,
        public_results=data.public_results,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        status="draft",
        electorate_size=0,
        electorate_area=Decimal(0),
        ballots_cast=0,
        created_by_account_id=actor.account_id,
        created_at=utc_now(),
    )
    db.add(poll)
    db.flush()
    for i, label in enumerate(data.options):
        db.add(PollOption(poll_id=poll.id, position=i, label=label))
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="poll.created",
        subject_type="poll",
        subject_id=poll.id,
        place_id=place.id,
    )
    return poll


def open_poll(db: Session, actor: Actor, poll_id: int) -> Poll:
    """Open a draft poll; the electorate (voters and total area) is counted now."""
    poll = _managed(db, actor, poll_id)
    if poll.status != "draft":
        raise Conflict(_("Only a draft poll can be opened."))
    voters = electorate_of(poll.electorate, _facts(db, actor, poll))
    if not voters:
        raise ValidationFailed(_("Nobody is eligible to vote in this poll."))
    poll.electorate_size = len(voters)
    poll.electorate_area = sum(voters.values(), Decimal(0))
    poll.status = "open"
    poll.opened_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="poll.opened",
        subject_type="poll",
        subject_id=poll.id,
        place_id=poll.place_id,
    )
    return poll


def close_poll(db: Session, actor: Actor, poll_id: int) -> Poll:
    """Close an open poll; its results become visible."""
    poll = _managed(db, actor, poll_id)
    if poll.status != "open":
        raise Conflict(_("Only an open poll can be closed."))
    poll.status = "closed"
    poll.closed_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="poll.closed",
        subject_type="poll",
        subject_id=poll.id,
        place_id=poll.place_id,
    )
    return poll


# --- voting ---------------------------------------------------------------------------------


def _cast(
    db: Session,
    actor: Actor,
    poll: Poll,
    *,
    resident_id: int,
    option_id: int,
    via: str,
) -> Receipt:
    now = utc_now()
    if poll.status != "open" or (poll.closes_at is not None and now >= poll.closes_at):
        raise Conflict(_("This poll is not open for voting."))
    if poll.opens_at is not None and now < poll.opens_at:
        raise Conflict(_("This poll is not open for voting."))
    if option_id not in {o.id for o in repository.options(db, poll.id)}:
        raise ValidationFailed(_("That is not an option of this poll."))
    voter = voter_of(db, actor, poll, resident_id)
    if voter is None:
        raise PermissionDenied(_("You are not eligible to vote in this poll."))
    key, weight = voter
    if repository.roll_entry(db, poll.id, key) is not None:
        raise Conflict(_("A ballot has already been cast for this voter."))
    receipt = secrets.token_urlsafe(18)
    db.add(
        PollVoter(
            poll_id=poll.id,
            voter_key=key,
            voted_at=now,
            via=via,
            recorded_by_account_id=actor.account_id if via != "online" else None,
            option_id=None if poll.secret else option_id,
        )
    )
    db.add(
        Ballot(
            id=uuid.uuid4().hex,
            poll_id=poll.id,
            option_id=option_id,
            weight=weight,
            receipt_hash=receipt_hash(receipt),
        )
    )
    try:
        db.flush()
    except IntegrityError:
        # Another submission for the same voter won the race: the unique roll entry holds.
        raise Conflict(_("A ballot has already been cast for this voter.")) from None
    if via == "online":
        # Points come from the roll (who took part), never from the ballot (what was chosen).
        household_id = resident_service.get_record(db, resident_id).household_id
        if household_id is not None:
            points_service.award(
                db,
                household_id=household_id,
                rule_code="vote_cast",
                source_event_id=f"poll:{poll.id}:{key}",
                occurred_at=now,
            )
    return Receipt(poll_id=poll.id, receipt=receipt)


def vote(db: Session, actor: Actor, poll_id: int, option_id: int) -> Receipt:
    """Cast the acting resident's ballot (or, in assisted mode, the present resident's)."""
    repository.lock(db, poll_id)
    poll = _visible(db, actor, poll_id)
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied(_("Only residents vote."))
    via = "assisted" if actor.is_assisting else "online"
    receipt = _cast(db, actor, poll, resident_id=rid, option_id=option_id, via=via)
    if actor.is_assisting:
        audit_service.record(
            db,
            actor=actor,
            action="poll.ballot_recorded",
            subject_type="poll",
            subject_id=poll.id,
            subject_resident_id=rid,
            place_id=poll.place_id,
            detail={"via": via},
        )
    return receipt


def record_paper(db: Session, actor: Actor, poll_id: int, data: PaperBallot) -> Receipt:
    """Staff record a resident's paper or assisted ballot; audited without the choice."""
    repository.lock(db, poll_id)
    poll = _managed(db, actor, poll_id)
    resident = resident_service.get_record(db, data.resident_id)
    home = place_service.get(db, resident.place_id).path
    if not home.startswith(poll.place_path):
        raise PermissionDenied(_("This resident is not eligible to vote in this poll."))
    receipt = _cast(
        db, actor, poll, resident_id=data.resident_id, option_id=data.option_id, via=data.via
    )
    audit_service.record(
        db,
        actor=actor,
        action="poll.ballot_recorded",
        subject_type="poll",
        subject_id=poll.id,
        subject_resident_id=data.resident_id,
        place_id=poll.place_id,
        detail={"via": data.via},
    )
    return receipt


def my_vote(db: Session, actor: Actor, poll_id: int) -> MyVote:
    """Whether the acting resident may vote and has voted (never what they chose)."""
    poll = _visible(db, actor, poll_id)
    rid = actor.effective_resident_id
    if rid is None:
        return MyVote(poll_id=poll.id, eligible=False, voted=False)
    voter = voter_of(db, actor, poll, rid)
    if voter is None:
        return MyVote(poll_id=poll.id, eligible=False, voted=False)
    entry = repository.roll_entry(db, poll.id, voter[0])
    return MyVote(
        poll_id=poll.id,
        eligible=True,
        voted=entry is not None,
        via=entry.via if entry else None,
        voted_at=entry.voted_at if entry else None,
    )


# --- results --------------------------------------------------------------------------------


def _results(db: Session, poll: Poll) -> PollResults:
    if poll.status != "closed":
        raise Conflict(_("Results are published when the poll closes."))
    options = repository.options(db, poll.id)
    counted = tally.count(
        electorate=poll.electorate,
        matter=poll.matter,
        option_ids=[o.id for o in options],
        ballots=repository.ballots(db, poll.id),
        electorate_size=poll.electorate_size,
        electorate_area=Decimal(poll.electorate_area),
    )
    labels = {o.id: o.label for o in options}
    return PollResults(
        poll_id=poll.id,
        title=poll.title,
        electorate=poll.electorate,
        matter=poll.matter,
        status=poll.status,
        options=[
            OptionResult(
                option_id=o.option_id,
                label=labels[o.option_id],
                votes=o.votes,
                weight=o.weight,
                passes=o.passes,
            )
            for o in counted.options
        ],
        ballots=counted.ballots,
        weight=counted.weight,
        electorate_size=counted.electorate_size,
        electorate_area=counted.electorate_area,
        turnout_pct=round(float(counted.turnout) * 100, 1),
        turnout_area_pct=(
            round(float(counted.turnout_area) * 100, 1)
            if counted.turnout_area is not None
            else None
        ),
        quorum_area_met=counted.quorum_area_met,
        quorum_heads_met=counted.quorum_heads_met,
        quorum_met=counted.quorum_met,
        winner_option_id=counted.winner_option_id,
        receipt_hashes=repository.receipt_hashes(db, poll.id),
    )


def results(db: Session, actor: Actor, poll_id: int) -> PollResults:
    """The counted result with turnout and quorum; only once the poll is closed."""
    return _results(db, _visible(db, actor, poll_id))


def public_results(db: Session, poll_id: int) -> PollResults:
    """Results of a closed poll published to everyone."""
    poll = repository.get(db, poll_id)
    if poll is None or not poll.public_results or poll.status != "closed":
        raise NotFound(_("No such poll."))
    return published(_results(db, poll))


def published(results: PollResults) -> PollResults:
    """``results`` fit for everyone: counts of fewer than 5 ballots (and the floor areas and
    shares computed from them) withheld, so that a small electorate's choices stay private."""
    ballots = results.ballots or 0
    # One small answer withholds every answer's count: otherwise the total minus the others
    # would give it away (complementary suppression). The decision itself stays public.
    small = any(kanon.is_small(o.votes or 0) for o in results.options)
    return results.model_copy(
        update={
            "options": [
                o.model_copy(update={"votes": None, "weight": None}) if small else o
                for o in results.options
            ],
            "ballots": kanon.suppress(ballots),
            "weight": kanon.derived(ballots, results.weight),
            "turnout_pct": kanon.derived(ballots, results.turnout_pct),
            "turnout_area_pct": kanon.derived(ballots, results.turnout_area_pct),
            "receipt_hashes": kanon.derived(ballots, results.receipt_hashes) or [],
        }
    )


def check_receipt(db: Session, actor: Actor, poll_id: int, receipt: str) -> ReceiptCheck:
    """Whether the ballot with this receipt is among those counted."""
    poll = _visible(db, actor, poll_id)
    if len(receipt) > 200:
        return ReceiptCheck(poll_id=poll.id, counted=False)
    return ReceiptCheck(
        poll_id=poll.id, counted=repository.has_receipt(db, poll.id, receipt_hash(receipt))
    )


def manageable_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the places where the actor may set up polls."""
    paths = actor.paths_for(permissions.POLL_ADMIN_ROLES)
    places = place_service.under(db, paths, kinds=("community", "compound", "building", "unit"))
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]
