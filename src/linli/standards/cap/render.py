"""CAP 1.2 alerts and their Atom feed, built with the standard library's ElementTree.

OASIS Common Alerting Protocol 1.2: element order and value sets as in the schema
(``urn:oasis:names:tc:emergency:cap:1.2``). Times carry a numeric offset: CAP forbids ``Z``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from linli.core import i18n
from linli.core.time import to_local
from linli.core.xmltext import xml_text

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"
# (CAP language, Linli locale) of the info blocks, in this order.
LANGUAGES = (("zh-CN", "zh_Hans_CN"), ("en-US", "en"))
CIRCLE_RADIUS_KM = 0.5


@dataclass(frozen=True)
class AlertData:
    """What an alert says, independent of where it is stored."""

    identifier: str
    sender: str
    sent: dt.datetime
    ended: dt.datetime | None
    category: str
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    instruction: str
    area: str
    latitude: float | None
    longitude: float | None
    web: str


def cap_time(value: dt.datetime) -> str:
    """``2026-11-29T16:00:00+08:00``: seconds, numeric offset, never ``Z``."""
    return to_local(value).replace(microsecond=0).isoformat()


def _sub(parent: ET.Element, name: str, text: str) -> ET.Element:
    # Plain names under a default namespace declared on the root (no global prefix registry).
    child = ET.SubElement(parent, name)
    child.text = xml_text(text)
    return child


def _description(locale: str, area: str) -> str:
    t = i18n.translations(locale)
    return t.gettext(
        'Residents of %(area)s are asked to answer "I am safe" or "I need help" in Linli.'
    ) % {"area": area}


def alert_element(alert: AlertData) -> ET.Element:
    """The ``<alert>``: an Alert while active, a Cancel (referring to it) once ended."""
    root = ET.Element("alert", {"xmlns": CAP_NS})
    cancel = alert.ended is not None
    _sub(root, "identifier", alert.identifier + ("-cancel" if cancel else ""))
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(alert.ended if alert.ended is not None else alert.sent))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", "Cancel" if cancel else "Alert")
    _sub(root, "scope", "Public")
    if cancel:
        _sub(root, "references", f"{alert.sender},{alert.identifier},{cap_time(alert.sent)}")
    for language, locale in LANGUAGES:
        info = _sub(root, "info", "")
        info.text = None
        _sub(info, "language", language)
        _sub(info, "category", alert.category)
        _sub(info, "event", alert.event or alert.headline)
        _sub(info, "responseType", "AllClear" if cancel else "Monitor")
        _sub(info, "urgency", "Past" if cancel else alert.urgency)
        _sub(info, "severity", alert.severity)
        _sub(info, "certainty", alert.certainty)
        _sub(info, "effective", cap_time(alert.sent))
        _sub(info, "senderName", i18n.translations(locale).gettext("Linli community platform"))
        _sub(info, "headline", alert.headline)
        _sub(info, "description", _description(locale, alert.area))
        if alert.instruction:
            _sub(info, "instruction", alert.instruction)
        _sub(info, "web", alert.web)
        area = _sub(info, "area", "")
        area.text = None
        _sub(area, "areaDesc", alert.area)
        if alert.latitude is not None and alert.longitude is not None:
            _sub(area, "circle", f"{alert.latitude:.6f},{alert.longitude:.6f} {CIRCLE_RADIUS_KM}")
    return root


def alert_xml(alert: AlertData) -> bytes:
    """A CAP 1.2 document (UTF-8, with the XML declaration)."""
    data: bytes = ET.tostring(alert_element(alert), encoding="utf-8", xml_declaration=True)
    return data


@dataclass(frozen=True)
class FeedEntry:
    alert: AlertData
    url: str


def atom_feed(*, feed_id: str, title: str, self_url: str, entries: list[FeedEntry]) -> bytes:
    """An Atom 1.0 feed of alerts, each entry linking to its CAP document."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS})

    def sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, name)
        if text is not None:
            child.text = text
        return child

    stamps = [e.alert.ended or e.alert.sent for e in entries]
    newest = max(stamps) if stamps else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", cap_time(newest))
    link = sub(feed, "link")
    link.set("rel", "self")
    link.set("href", self_url)
    author = sub(feed, "author")
    sub(author, "name", "Linli")
    for entry in entries:
        alert = entry.alert
        item = sub(feed, "entry")
        sub(item, "id", f"urn:linli:cap:{alert.identifier}")
        sub(item, "title", alert.headline)
        sub(item, "updated", cap_time(alert.ended or alert.sent))
        alt = sub(item, "link")
        alt.set("rel", "alternate")
        alt.set("type", CAP_MEDIA_TYPE)
        alt.set("href", entry.url)
        sub(item, "summary", f"{alert.area}: {alert.instruction or alert.headline}")
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
