"""JSON API of notifications: a person's inbox and preferences, endpoints, the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from linli.core import ratelimit
from linli.core.pagination import Page, PageParams
from linli.notification import service
from linli.notification.schemas import (
    EndpointChannel,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    NotificationRead,
    OutboxPage,
    OutboxRow,
    PreferencesRead,
    PreferencesUpdate,
    ReadAllResult,
    Status,
)
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["notifications"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]


@router.get("/notifications", response_model=Page[NotificationRead])
def list_notifications(
    db: Db, actor: LoggedIn, paging: Paging, unread: bool = False
) -> Page[NotificationRead]:
    """The caller's own in-app messages, newest first."""
    items, total = service.inbox(db, actor, params=paging, unread_only=unread)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/notifications/read-all", response_model=ReadAllResult)
def read_all(db: Db, actor: LoggedIn) -> ReadAllResult:
    """Mark every message of the caller read."""
    marked, unread = service.mark_all_read(db, actor)
    db.commit()
    return ReadAllResult(marked=marked, unread=unread)


@router.post("/notifications/{notification_id}/read", response_model=NotificationRead)
def read_one(db: Db, actor: LoggedIn, notification_id: PathId) -> NotificationRead:
    """Mark one of the caller's messages read."""
    item = service.mark_read(db, actor, notification_id)
    db.commit()
    return item


@router.get("/notification-preferences", response_model=PreferencesRead)
def get_preferences(db: Db, actor: LoggedIn) -> PreferencesRead:
    """How the caller is told: e-mail address, quiet hours, least severity, daily cap."""
    return service.get_preferences(db, actor)


@router.put("/notification-preferences", response_model=PreferencesRead)
def put_preferences(db: Db, actor: LoggedIn, body: PreferencesUpdate) -> PreferencesRead:
    """Change the caller's preferences; fields left out stay as they are."""
    prefs = service.update_preferences(db, actor, body)
    db.commit()
    return prefs


@router.get("/notification-endpoints", response_model=list[EndpointRead])
def list_endpoints(db: Db, actor: LoggedIn) -> list[EndpointRead]:
    """Endpoints of the caller's places; secrets and phone numbers are only hinted at."""
    return service.list_endpoints(db, actor)


@router.post("/notification-endpoints", response_model=EndpointRead, status_code=201)
def create_endpoint(db: Db, actor: LoggedIn, body: EndpointCreate) -> EndpointRead:
    """Add a webhook, SMS gateway or group robot for a place (administrators)."""
    endpoint = service.create_endpoint(db, actor, body)
    db.commit()
    return endpoint


@router.patch("/notification-endpoints/{endpoint_id}", response_model=EndpointRead)
def update_endpoint(
    db: Db, actor: LoggedIn, endpoint_id: PathId, body: EndpointUpdate
) -> EndpointRead:
    endpoint = service.update_endpoint(db, actor, endpoint_id, body)
    db.commit()
    return endpoint


@router.delete("/notification-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(db: Db, actor: LoggedIn, endpoint_id: PathId) -> Response:
    """Remove an endpoint and the messages still queued for it."""
    service.delete_endpoint(db, actor, endpoint_id)
    db.commit()
    return Response(status_code=204)


@router.get("/notification-outbox", response_model=OutboxPage)
def outbox(
    db: Db,
    actor: LoggedIn,
    paging: Paging,
    status: Status | None = None,
    channel: Annotated[EndpointChannel | None, Query()] = None,
) -> OutboxPage:
    """Messages to the endpoints of the caller's places (``status=dead``: the dead letters),
    with counts by channel and status."""
    return service.outbox(db, actor, params=paging, status=status, channel=channel)


@router.post("/notification-outbox/{notification_id}/retry", response_model=OutboxRow)
def retry(db: Db, actor: LoggedIn, notification_id: PathId) -> OutboxRow:
    """Send a dead message again (administrators of its endpoint's place)."""
    limits.enforce(db, actor, ratelimit.NOTIFICATION_RETRY_ACCOUNT)
    row = service.retry(db, actor, notification_id)
    db.commit()
    return row
