"""JSON API of the recipient registry and the disclosure log, and the recipients' CAP feeds.

The feeds (``/sharing/feeds/{recipient_id}/...``) take the recipient's feed token only, never a
session or an API key: a recipient is not a person with an account.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response

from linli.core.i18n import translations
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.sharing import service
from linli.sharing.schemas import (
    BreachCreate,
    BreachNotices,
    BreachOut,
    DisclosureOut,
    ExportDecision,
    ExportRequestCreate,
    ExportRequestOut,
    RecipientCreate,
    RecipientIssued,
    RecipientOut,
    RecipientUpdate,
)
from linli.standards.cap import render
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["sharing"], dependencies=[CsrfChecked])
feed_router = APIRouter(prefix="/sharing/feeds", tags=["sharing"])
Paging = Annotated[PageParams, Depends()]
NO_STORE = {"Cache-Control": "no-store"}


def _issued(issued: RecipientIssued, status: int) -> JSONResponse:
    # Secrets are shown once: never kept by a cache on the way.
    return JSONResponse(issued.model_dump(mode="json"), status_code=status, headers=NO_STORE)


@router.get("/sharing/recipients", response_model=Page[RecipientOut])
def list_recipients(db: Db, actor: LoggedIn, paging: Paging) -> Page[RecipientOut]:
    """Registry entries of the places the caller administers, active first."""
    return service.list_recipients(db, actor, paging)


@router.post("/sharing/recipients", response_model=RecipientIssued, status_code=201)
def create_recipient(db: Db, actor: LoggedIn, body: RecipientCreate) -> JSONResponse:
    """Register a recipient; the answer holds its feed token and signing key, shown once."""
    issued = service.create_recipient(db, actor, body)
    db.commit()
    return _issued(issued, 201)


@router.get("/sharing/recipients/{recipient_id}", response_model=RecipientOut)
def get_recipient(db: Db, actor: LoggedIn, recipient_id: PathId) -> RecipientOut:
    """One registry entry (without its secrets)."""
    return service.get_recipient(db, actor, recipient_id)


@router.patch("/sharing/recipients/{recipient_id}", response_model=RecipientIssued)
def update_recipient(
    db: Db, actor: LoggedIn, recipient_id: PathId, body: RecipientUpdate
) -> JSONResponse:
    """Change an entry; a webhook added now gets a signing key, shown in this answer only."""
    issued = service.update_recipient(db, actor, recipient_id, body)
    db.commit()
    return _issued(issued, 200)


@router.post("/sharing/recipients/{recipient_id}/deactivate", response_model=RecipientOut)
def deactivate_recipient(db: Db, actor: LoggedIn, recipient_id: PathId) -> RecipientOut:
    """Stop sending to the recipient and close its feed; the log keeps what was sent."""
    out = service.deactivate_recipient(db, actor, recipient_id)
    db.commit()
    return out


@router.get("/sharing/disclosures", response_model=Page[DisclosureOut])
def disclosure_log(db: Db, actor: LoggedIn, paging: Paging) -> Page[DisclosureOut]:
    """Every disclosure about the caller's places (administrators, auditors, police liaison)."""
    return service.disclosure_log(db, actor, paging)


@router.get("/me/disclosures", response_model=Page[DisclosureOut])
def my_disclosures(db: Db, actor: LoggedIn, paging: Paging) -> Page[DisclosureOut]:
    """What was shared outside the platform about the caller's home or with their data."""
    return service.my_disclosures(db, actor, paging)


# --- the recipients' CAP feeds ----------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@feed_router.get("/{recipient_id}/alerts.atom", response_class=Response)
def feed(
    request: Request,
    db: Db,
    recipient_id: PathId,
    authorization: Annotated[str, Header()] = "",
) -> Response:
    """Atom feed of the recipient's messages within its retention period, newest first."""
    recipient = service.feed_recipient(db, recipient_id, authorization)
    base = _base(request)
    own = f"{base}/sharing/feeds/{recipient.id}/alerts.atom"
    body = render.atom_feed(
        feed_id=own,
        title=translations("en").gettext("Linli incident messages"),
        self_url=own,
        entries=service.feed_entries(service.feed_disclosures(db, recipient, utc_now()), base),
    )
    return Response(body, media_type=render.ATOM_MEDIA_TYPE, headers=NO_STORE)


@feed_router.get("/{recipient_id}/alerts/{disclosure_id}.xml", response_class=Response)
def feed_document(
    db: Db,
    recipient_id: PathId,
    disclosure_id: PathId,
    authorization: Annotated[str, Header()] = "",
) -> Response:
    """One message exactly as it was disclosed (a CAP 1.2 document)."""
    recipient = service.feed_recipient(db, recipient_id, authorization)
    disclosure = service.feed_document(db, recipient, disclosure_id, utc_now())
    return Response(
        disclosure.payload.encode("utf-8"), media_type=render.CAP_MEDIA_TYPE, headers=NO_STORE
    )


# --- bulk exports with a second approver, personal-data incidents ----------------------------


@router.get("/sharing/exports", response_model=list[ExportRequestOut])
def list_exports(db: Db, actor: LoggedIn) -> list[ExportRequestOut]:
    """Export requests of the places the caller administers, newest first."""
    return service.list_exports(db, actor)


@router.post("/sharing/exports", response_model=ExportRequestOut, status_code=201)
def request_export(db: Db, actor: LoggedIn, body: ExportRequestCreate) -> ExportRequestOut:
    """Ask for the resident sheet of a place; another administrator must approve it."""
    out = service.request_export(db, actor, body)
    db.commit()
    return out


@router.post("/sharing/exports/{export_id}/decision", response_model=ExportRequestOut)
def decide_export(
    db: Db, actor: LoggedIn, export_id: PathId, body: ExportDecision
) -> ExportRequestOut:
    """Approve or reject someone else's export request."""
    out = service.decide_export(db, actor, export_id, body)
    db.commit()
    return out


@router.get("/sharing/exports/{export_id}/file")
def download_export(db: Db, actor: LoggedIn, export_id: PathId) -> Response:
    """The approved file, once, for the person who asked for it."""
    name, text = service.download_export(db, actor, export_id)
    db.commit()
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )


@router.get("/sharing/breaches", response_model=list[BreachOut])
def list_breaches(db: Db, actor: LoggedIn) -> list[BreachOut]:
    """Declared personal-data incidents of the places the caller administers or audits."""
    return service.list_breaches(db, actor)


@router.post("/sharing/breaches", response_model=BreachNotices, status_code=201)
def declare_breach(db: Db, actor: LoggedIn, body: BreachCreate) -> BreachNotices:
    """Declare a personal-data incident; the answer holds both notices in both languages."""
    out = service.declare_breach(db, actor, body)
    db.commit()
    return out


@router.get("/sharing/breaches/{breach_id}", response_model=BreachNotices)
def get_breach(db: Db, actor: LoggedIn, breach_id: PathId) -> BreachNotices:
    """One incident with its notices."""
    return service.get_breach(db, actor, breach_id)
