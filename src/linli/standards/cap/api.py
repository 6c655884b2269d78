"""Routes of CAP 1.2: ``/cap/alerts.atom`` (the feed) and ``/cap/alerts/{alert_id}.xml``.

Emergency check-ins are public alerts (scope Public): headline, instruction and area only,
never who answered what. No login is needed, as for any public warning feed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from linli.core.i18n import translations
from linli.notice import service as notice_service
from linli.standards.cap import render
from linli.web.deps import Db, PathId

PREFIX = "/cap"
router = APIRouter(tags=["cap"])


def _site(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _sender(request: Request) -> str:
    return f"linli@{request.url.hostname or 'localhost'}"


def _data(db: Session, request: Request, broadcast_id: int) -> render.AlertData:
    b = notice_service.public_alert(db, broadcast_id)
    area, lat, lon = notice_service.area_of(db, b)
    return render.AlertData(
        identifier=b.identifier,
        sender=_sender(request),
        sent=b.sent_at,
        ended=b.ended_at,
        category=b.cap_category,
        event=b.event,
        urgency=b.urgency,
        severity=b.severity,
        certainty=b.certainty,
        headline=b.headline,
        instruction=b.instruction,
        area=area,
        latitude=lat,
        longitude=lon,
        web=f"{_site(request)}{PREFIX}/alerts/{b.id}.xml",
    )


@router.get(PREFIX + "/alerts.atom", response_class=Response)
def alerts_feed(request: Request, db: Db) -> Response:
    """Atom feed of the active alerts and those ended in the last week, newest first."""
    site = _site(request)
    entries = [
        render.FeedEntry(_data(db, request, b.id), f"{site}{PREFIX}/alerts/{b.id}.xml")
        for b in notice_service.public_alerts(db)
    ]
    body = render.atom_feed(
        feed_id=f"{site}{PREFIX}/alerts.atom",
        title=translations("en").gettext("Linli emergency alerts"),
        self_url=f"{site}{PREFIX}/alerts.atom",
        entries=entries,
    )
    return Response(body, media_type=render.ATOM_MEDIA_TYPE)


@router.get(PREFIX + "/alerts/{alert_id}.xml", response_class=Response)
def alert_document(request: Request, db: Db, alert_id: PathId) -> Response:
    """One alert as a CAP 1.2 document (a Cancel once the check-in has ended)."""
    return Response(
        render.alert_xml(_data(db, request, alert_id)), media_type=render.CAP_MEDIA_TYPE
    )
