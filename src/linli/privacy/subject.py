"""Data-subject rights: export everything about a resident, hand it to a processor, erase it.

Everything is driven by the link map (:mod:`linli.privacy.links`) over the tables of the
application's metadata, so this module imports no other domain's models: a table is read and
changed through SQLAlchemy Core, encrypted columns decrypt on the way out as they always do.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import chinese_calendar
import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    CursorResult,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.crypto import EncryptedString, new_token, sha256_hex
from linli.core.db import Base
from linli.core.errors import LinliError, NotFound, PermissionDenied, ValidationFailed
from linli.core.time import utc_now
from linli.privacy import inventory
from linli.privacy.links import (
    APPEND_ONLY,
    BY_TABLE,
    ERASED,
    LINKS,
    SECRET_COLUMNS,
    Action,
    Key,
    Link,
)
from linli.privacy.links import erase_order as _erase_order
from linli.privacy.subject_models import ExportLink, PrivacyRequest

FORMAT = "linli.subject-export/1"
ERASED_NAME = "已注销"
MASK = "***"
SLA_WORKING_DAYS = 15
LINK_HOURS = 24
SWEPT_CATEGORIES = frozenset(
    {
        inventory.Category.FREE_TEXT,
        inventory.Category.CORRESPONDENCE,
        inventory.Category.IDENTITY,
        inventory.Category.CONTACT,
    }
)


class Gone(LinliError):
    """A download link that was used, revoked or has expired."""

    status_code = 410
    code = "gone"


def _table(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


# --- the subject and its keys ----------------------------------------------------------------


@dataclass
class SubjectKeys:
    """Every identifier that ties a row to one resident."""

    resident_id: int
    household_id: int | None
    accounts: list[int] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)
    last_in_household: bool = True

    def values(self, key: Key) -> list[Any]:
        match key:
            case Key.RESIDENT:
                return [self.resident_id]
            case Key.HOUSEHOLD:
                return [self.household_id] if self.household_id is not None else []
            case Key.ACCOUNT:
                return list(self.accounts)
            case Key.USERNAME:
                return list(self.usernames)
            case Key.VOTER:
                keys = [f"resident:{self.resident_id}"]
                if self.household_id is not None:
                    keys.append(f"household:{self.household_id}")
                return keys


def keys_of(db: Session, resident_id: int) -> SubjectKeys:
    """The resident's ids: household, accounts and usernames (NotFound when unknown)."""
    residents = Base.metadata.tables["residents"]
    accounts = Base.metadata.tables["accounts"]
    row = db.execute(
        select(residents.c.id, residents.c.household_id).where(residents.c.id == resident_id)
    ).first()
    if row is None:
        raise NotFound("no such resident")
    keys = SubjectKeys(resident_id=resident_id, household_id=row.household_id)
    for aid, username in db.execute(
        select(accounts.c.id, accounts.c.username).where(accounts.c.resident_id == resident_id)
    ):
        keys.accounts.append(int(aid))
        keys.usernames.append(str(username))
    if keys.household_id is not None:
        others = db.execute(
            select(residents.c.id).where(
                residents.c.household_id == keys.household_id, residents.c.id != resident_id
            )
        ).first()
        keys.last_in_household = others is None
    return keys


def _match(
    link: Link,
    keys: SubjectKeys,
    *,
    actors: bool,
    household: bool = True,
    depth: int = 0,
) -> ColumnElement[bool] | None:
    """The WHERE clause selecting the subject's rows of ``link.table`` (None: no row can match)."""
    table = _table(link.table)
    if table is None or depth > 4:
        return None
    clauses: list[ColumnElement[bool]] = []
    columns = list(link.owner) + (list(link.actor) if actors else [])
    for column, key in columns:
        if key is Key.HOUSEHOLD and not household:
            continue
        values = keys.values(key)
        if values:
            clauses.append(table.c[column].in_(values))
    if link.parent is not None:
        fk, parent_name = link.parent
        parent = _table(parent_name)
        where = _match(
            BY_TABLE[parent_name], keys, actors=False, household=household, depth=depth + 1
        )
        if parent is not None and where is not None:
            clauses.append(table.c[fk].in_(select(parent.c.id).where(where)))
    if link.through_child is not None:
        child_name, fk = link.through_child
        child = _table(child_name)
        where = _match(
            BY_TABLE[child_name], keys, actors=False, household=household, depth=depth + 1
        )
        if child is not None and where is not None:
            clauses.append(table.c.id.in_(select(child.c[fk]).where(where)))
    return or_(*clauses) if clauses else None


# --- export (R1) -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def collect(db: Session, resident_id: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every row about the resident, domain by domain and table by table, secrets left out."""
    keys = keys_of(db, resident_id)
    modules: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for link in LINKS:
        table = _table(link.table)
        where = _match(link, keys, actors=True)
        if table is None or where is None:
            continue
        columns = [c for c in table.columns if f"{link.table}.{c.name}" not in SECRET_COLUMNS]
        rows = [
            {c.name: _plain(v) for c, v in zip(columns, row, strict=True)}
            for row in db.execute(select(*columns).where(where).order_by(*table.primary_key))
        ]
        if rows:
            domain = inventory.table_declaration(link.table).domain
            modules.setdefault(domain, {})[link.table] = rows
    return modules


def export_document(db: Session, actor: Actor, resident_id: int) -> dict[str, Any]:
    """The versioned JSON export of everything about a resident (audited)."""
    modules = collect(db, resident_id)
    person = modules.get("resident", {}).get("residents", [{}])[0]
    audit_service.record(
        db,
        actor=actor,
        action="subject.exported",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        detail={"tables": sum(len(t) for t in modules.values())},
    )
    return {
        "format": FORMAT,
        "generated_at": utc_now().isoformat(),
        "subject": {"resident_id": resident_id, "name": person.get("name")},
        "modules": modules,
    }


def to_json(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def to_zip(document: dict[str, Any]) -> bytes:
    """A ZIP of one CSV per table plus the JSON document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", to_json(document))
        for domain, tables in document["modules"].items():
            for name, rows in tables.items():
                text = io.StringIO()
                writer = csv.DictWriter(text, fieldnames=list(rows[0]))
                writer.writeheader()
                for row in rows:
                    writer.writerow(
                        {
                            k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v
                            for k, v in row.items()
                        }
                    )
                archive.writestr(f"{domain}/{name}.csv", text.getvalue().encode("utf-8-sig"))
    return buffer.getvalue()


# --- requests (R5) ---------------------------------------------------------------------------


def _is_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def due_after(received: dt.datetime, working_days: int = SLA_WORKING_DAYS) -> dt.datetime:
    """``working_days`` Chinese working days after ``received`` (Mon-Fri beyond the calendar)."""
    day = received.date()
    counted = 0
    while counted < working_days:
        day += dt.timedelta(days=1)
        if _is_workday(day):
            counted += 1
    return dt.datetime.combine(day, received.timetz())


def _community_of(db: Session, resident_id: int) -> int | None:
    from linli.resident import service as resident_service

    return resident_service.community_id_of(db, resident_id)


def open_request(
    db: Session,
    actor: Actor,
    *,
    kind: str,
    resident_id: int,
    field: str | None = None,
    new_value: str | None = None,
    reason: str = "",
    done: bool = False,
) -> PrivacyRequest:
    """Record a request (self-service or at the desk); ``done`` for one answered at once."""
    now = utc_now()
    accounts = keys_of(db, resident_id).accounts
    request = PrivacyRequest(
        kind=kind,
        resident_id=resident_id,
        account_id=accounts[0] if accounts else None,
        community_id=_community_of(db, resident_id),
        status="done" if done else "open",
        via="assisted" if actor.is_assisting else "self",
        field=field,
        new_value=new_value,
        reason=reason,
        received_at=now,
        due_at=due_after(now),
        answered_at=now if done else None,
        filed_by_account_id=actor.account_id,
        handled_by_account_id=actor.account_id if done else None,
    )
    db.add(request)
    db.flush()
    return request


def record_export(db: Session, actor: Actor, resident_id: int) -> dict[str, Any]:
    """Export for the acting resident (or the resident a staff member assists): tracked."""
    open_request(db, actor, kind="export", resident_id=resident_id, done=True)
    return export_document(db, actor, resident_id)


def own_resident(actor: Actor) -> int:
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied("this is for residents")
    return rid


# --- portability links (R2) ------------------------------------------------------------------


def create_link(
    db: Session, actor: Actor, *, processor: str, hours: int = LINK_HOURS
) -> tuple[ExportLink, str]:
    """A single-use download link for a processor; the token is shown once, its digest kept."""
    rid = own_resident(actor)
    processor = processor.strip()
    if not 2 <= len(processor) <= 100:
        raise ValidationFailed("name the organisation that will download your data")
    if not 1 <= hours <= 24 * 7:
        raise ValidationFailed("a link lasts from 1 hour to 7 days")
    token = new_token()
    now = utc_now()
    link = ExportLink(
        resident_id=rid,
        processor=processor,
        token_digest=sha256_hex(token),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
        created_by_account_id=actor.account_id,
    )
    db.add(link)
    db.flush()
    open_request(db, actor, kind="portability", resident_id=rid, reason=processor, done=True)
    audit_service.record(
        db,
        actor=actor,
        action="subject.link_created",
        subject_type="export_link",
        subject_id=link.id,
        subject_resident_id=rid,
        detail={"hours": hours},
    )
    return link, token


def links_of(db: Session, actor: Actor) -> list[ExportLink]:
    rid = own_resident(actor)
    stmt = select(ExportLink).where(ExportLink.resident_id == rid).order_by(ExportLink.id.desc())
    return list(db.scalars(stmt))


def revoke_link(db: Session, actor: Actor, link_id: int) -> None:
    rid = own_resident(actor)
    link = db.get(ExportLink, link_id)
    if link is None or link.resident_id != rid:
        raise NotFound("no such link")
    if link.revoked_at is None:
        link.revoked_at = utc_now()
        audit_service.record(
            db,
            actor=actor,
            action="subject.link_revoked",
            subject_type="export_link",
            subject_id=link.id,
            subject_resident_id=rid,
        )


def redeem_link(db: Session, actor: Actor, token: str) -> dict[str, Any]:
    """The export behind a link, once: used, expired or revoked links are gone (410)."""
    link = db.scalars(
        select(ExportLink).where(ExportLink.token_digest == sha256_hex(token))
    ).first()
    if link is None:
        raise NotFound("no such link")
    now = utc_now()
    if link.used_at is not None or link.revoked_at is not None or link.expires_at <= now:
        raise Gone("this link was used, revoked or has expired")
    link.used_at = now
    audit_service.record(
        db,
        actor=actor,
        action="subject.link_downloaded",
        subject_type="export_link",
        subject_id=link.id,
        subject_resident_id=link.resident_id,
        detail={"processor": link.processor},
    )
    return export_document(db, actor, link.resident_id)


# --- erasure (R4) ----------------------------------------------------------------------------


def _identifiers(db: Session, resident_id: int) -> list[tuple[str, str]]:
    """(value, replacement) of the strings that identify the resident: name, phone, ID."""
    residents = Base.metadata.tables["residents"]
    row = db.execute(
        select(residents.c.name, residents.c.phone, residents.c.id_number).where(
            residents.c.id == resident_id
        )
    ).one()
    found: list[tuple[str, str]] = []
    if row.name and row.name != ERASED_NAME:
        found.append((row.name, ERASED_NAME))
    for value in (row.phone, row.id_number):
        if value:
            found.append((value, MASK))
    return found


def _replace(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_replace(v, pairs) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, pairs) for k, v in value.items()}
    return value


def sweep(db: Session, pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Replace the identifiers wherever a free-text, name or contact column holds them.

    The audit log is left alone: it never holds them (only ids), and it is append-only.
    """
    if not pairs:
        return {}
    changed: dict[str, int] = {}
    for decl in inventory.personal_columns():
        if decl.category not in SWEPT_CATEGORIES or decl.table in APPEND_ONLY:
            continue
        table = _table(decl.table)
        if table is None or decl.column not in table.c:
            continue
        column = table.c[decl.column]
        if isinstance(column.type, EncryptedString | LargeBinary):
            continue
        text: ColumnElement[Any]
        if isinstance(column.type, JSON):
            text = sql_cast(column, Text)
        elif isinstance(column.type, String | Text):
            text = column
        else:
            continue
        # JSON may be stored with non-ASCII escaped (\uXXXX): look for both spellings.
        needles = {old for old, _new in pairs} | {json.dumps(old)[1:-1] for old, _new in pairs}
        hit = or_(*(text.contains(n, autoescape=True) for n in sorted(needles)))
        pk = list(table.primary_key)
        for row in db.execute(select(*pk, column).where(hit)).all():
            new = _replace(row[-1], pairs)
            ident = and_(*(c == row[i] for i, c in enumerate(pk)))
            db.execute(table.update().where(ident).values({decl.column: new}))
            changed[decl.table] = changed.get(decl.table, 0) + 1
    return changed


def _special(db: Session, keys: SubjectKeys, outcome: dict[str, dict[str, int]]) -> None:
    residents = Base.metadata.tables["residents"]
    accounts = Base.metadata.tables["accounts"]
    for aid in keys.accounts:
        db.execute(
            accounts.update()
            .where(accounts.c.id == aid)
            .values(
                username=f"erased-{aid}",
                display_name=ERASED_NAME,
                email=None,
                password_hash=None,
                is_active=False,
                locale=None,
                elder_mode=False,
                last_login_at=None,
            )
        )
    outcome["accounts"] = {"anonymised": len(keys.accounts)}
    db.execute(
        residents.update()
        .where(residents.c.id == keys.resident_id)
        .values(
            name=ERASED_NAME,
            gender=None,
            phone=None,
            phone_digest=None,
            id_number=None,
            id_number_digest=None,
            date_of_birth=None,
            birth_year=None,
            household_id=None,
            updated_at=utc_now(),
        )
    )
    outcome["residents"] = {"anonymised": 1}


def _cleared(table: Table, column: str, value: object, row: Any) -> object:
    """The value erasure writes: a per-row placeholder, or "" where NULL is not allowed."""
    if value == ERASED:
        return f"{ERASED}:{table.name}:{'-'.join(map(str, row))}"
    if value is None and not table.c[column].nullable:
        return ""
    return value


def erase(db: Session, actor: Actor, resident_id: int) -> dict[str, dict[str, int]]:
    """Delete or anonymise everything about a resident, as the link map says; returns counts.

    Household rows go only when the resident was the household's last member; the ledger and
    other legal-hold rows are kept without identifiers and counted as ``kept``.
    """
    keys = keys_of(db, resident_id)
    pairs = _identifiers(db, resident_id)
    outcome: dict[str, dict[str, int]] = {}
    erase_household = keys.last_in_household
    for link in _erase_order():
        table = _table(link.table)
        if table is None or link.action is Action.SPECIAL:
            continue
        if link.household_owned and not erase_household:
            where = _match(link, keys, actors=False, household=False)
        else:
            where = _match(link, keys, actors=False)
        if where is not None:
            if link.action is Action.DELETE:
                result: CursorResult[Any] = db.execute(table.delete().where(where))  # type: ignore[assignment]  # a DML statement gives a cursor result
                n = result.rowcount
                if n:
                    outcome[link.table] = {"deleted": n}
            elif link.action is Action.ANONYMISE:
                pk = list(table.primary_key)
                rows = db.execute(select(*pk).where(where)).all()
                for row in rows:
                    values = {col: _cleared(table, col, v, row) for col, v in link.clear.items()}
                    ident = and_(*(c == row[i] for i, c in enumerate(pk)))
                    db.execute(table.update().where(ident).values(values))
                if rows:
                    outcome[link.table] = {"anonymised": len(rows)}
            else:
                n = len(db.execute(select(*table.primary_key).where(where)).all())
                if n:
                    outcome[link.table] = {"kept": n}
        # Actor columns: the scrubbed account still stands behind them; nothing to clear.
    _special(db, keys, outcome)
    for name, count in sweep(db, pairs).items():
        outcome.setdefault(name, {})["swept"] = count
    audit_service.record(
        db,
        actor=actor,
        action="subject.erased",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        detail={"tables": len(outcome)},
    )
    return outcome


def check_password(db: Session, actor: Actor, password: str) -> None:
    """Identity re-check before a self-service deletion."""
    from linli.account import service as account_service

    if actor.account_id is None:
        raise PermissionDenied("log in first")
    if actor.is_assisting:
        return  # at the desk the staff member checked the resident's papers (reason recorded)
    if not account_service.password_matches(db, actor.account_id, password):
        raise PermissionDenied("the password is not right")


def delete_me(db: Session, actor: Actor, *, password: str, reason: str = "") -> PrivacyRequest:
    """Self-service (or assisted) account deletion: re-check, erase, record the request."""
    rid = own_resident(actor)
    check_password(db, actor, password)
    request = open_request(db, actor, kind="deletion", resident_id=rid, reason=reason)
    outcome = erase(db, actor, rid)
    request.status = "done"
    request.answered_at = utc_now()
    request.handled_by_account_id = actor.account_id
    request.outcome = outcome
    return request


def delete_by_staff(db: Session, actor: Actor, resident_id: int, *, reason: str) -> PrivacyRequest:
    """A staff member erases a resident who left (moved away), with a reason."""
    from linli.resident import service as resident_service

    if len(reason.strip()) < 2:
        raise ValidationFailed("say why the resident's data is deleted")
    path = resident_service.place_path_of(db, resident_id)
    if not actor.holds(frozenset({"community_admin", "district_admin", "community_staff"}), path):
        raise PermissionDenied("you cannot delete residents of this place")
    request = open_request(db, actor, kind="deletion", resident_id=resident_id, reason=reason)
    request.via = "staff"
    outcome = erase(db, actor, resident_id)
    request.status = "done"
    request.answered_at = utc_now()
    request.handled_by_account_id = actor.account_id
    request.outcome = outcome
    return request


def tables_linked() -> Iterable[str]:
    return [link.table for link in LINKS]


# --- correction (R3) and the staff queue (R5) ------------------------------------------------

HANDLER_ROLES = frozenset({"community_staff", "community_admin", "district_admin"})


def file_correction(
    db: Session, actor: Actor, *, field: str, new_value: str, reason: str
) -> PrivacyRequest:
    """A resident asks staff to correct a verified field (name, ID number, birth, household)."""
    from linli.resident import service as resident_service

    rid = own_resident(actor)
    if field not in resident_service.CORRECTABLE_FIELDS:
        raise ValidationFailed("choose a field to correct")
    if not new_value.strip() or len(new_value) > 100:
        raise ValidationFailed("give the right value")
    if len(reason.strip()) < 2:
        raise ValidationFailed("say why the value is wrong")
    request = open_request(
        db,
        actor,
        kind="correction",
        resident_id=rid,
        field=field,
        new_value=new_value.strip(),
        reason=reason.strip(),
    )
    audit_service.record(
        db,
        actor=actor,
        action="subject.correction_requested",
        subject_type="privacy_request",
        subject_id=request.id,
        subject_resident_id=rid,
        fields=[field],
    )
    return request


def my_requests(db: Session, actor: Actor) -> list[PrivacyRequest]:
    rid = own_resident(actor)
    stmt = (
        select(PrivacyRequest)
        .where(PrivacyRequest.resident_id == rid)
        .order_by(PrivacyRequest.id.desc())
    )
    return list(db.scalars(stmt))


def _community_ids(db: Session, actor: Actor) -> list[int]:
    from linli.place import service as place_service

    paths = actor.paths_for(HANDLER_ROLES)
    if not paths:
        raise PermissionDenied("only community staff handle privacy requests")
    return [int(i) for i in db.scalars(place_service.ids_under(paths))]


def queue(db: Session, actor: Actor) -> list[PrivacyRequest]:
    """Requests of the actor's communities: open ones first, overdue before the rest."""
    ids = _community_ids(db, actor)
    rows = list(db.scalars(select(PrivacyRequest).where(PrivacyRequest.community_id.in_(ids))))
    now = utc_now()
    rows.sort(
        key=lambda r: (
            r.status != "open",
            not (r.status == "open" and r.due_at < now),
            r.due_at if r.status == "open" else now + (now - r.received_at),
        )
    )
    return rows


def _handled(db: Session, actor: Actor, request_id: int) -> PrivacyRequest:
    request = db.get(PrivacyRequest, request_id)
    if request is None or request.community_id not in _community_ids(db, actor):
        raise NotFound("no such request")
    if request.status != "open":
        raise ValidationFailed("this request was already answered")
    return request


def approve(db: Session, actor: Actor, request_id: int) -> PrivacyRequest:
    """Apply a correction through the resident service and close the request."""
    from linli.resident import service as resident_service

    request = _handled(db, actor, request_id)
    if request.kind != "correction" or request.resident_id is None or not request.field:
        raise ValidationFailed("only a correction can be approved here")
    try:
        resident_service.apply_correction(
            db,
            actor,
            request.resident_id,
            field=request.field,
            value=request.new_value or "",
        )
    except ValueError as exc:
        raise ValidationFailed("the new value is not valid") from exc
    request.status = "done"
    request.answered_at = utc_now()
    request.handled_by_account_id = actor.account_id
    request.new_value = None  # applied: the record itself now holds it
    audit_service.record(
        db,
        actor=actor,
        action="subject.correction_approved",
        subject_type="privacy_request",
        subject_id=request.id,
        subject_resident_id=request.resident_id,
        fields=[request.field],
    )
    return request


def refuse(db: Session, actor: Actor, request_id: int, *, reason: str) -> PrivacyRequest:
    """Refuse a request; a written reason is required (PIPL art. 50)."""
    if len(reason.strip()) < 2:
        raise ValidationFailed("a refusal needs a written reason")
    request = _handled(db, actor, request_id)
    request.status = "refused"
    request.refusal_reason = reason.strip()
    request.answered_at = utc_now()
    request.handled_by_account_id = actor.account_id
    request.new_value = None
    audit_service.record(
        db,
        actor=actor,
        action="subject.request_refused",
        subject_type="privacy_request",
        subject_id=request.id,
        subject_resident_id=request.resident_id,
        reason=reason,
    )
    return request
