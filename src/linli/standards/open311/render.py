"""Open311 GeoReport v2 documents: the same data as JSON and as XML.

Values are plain (str, int, float, bool, None, lists and dicts); ``None`` is left out of both
formats, booleans are ``true``/``false`` in XML, and a list is written as repeated children
named by ``ITEM_TAGS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

from linli.core.xmltext import xml_text

JSON_MEDIA_TYPE = "application/json"
XML_MEDIA_TYPE = "text/xml"
FORMATS = ("json", "xml")

# The element name of each item of a list, by the list's name.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A case text holding a control character made the document unreadable (found by
    # tests/fuzz): such characters become U+FFFD.
    return xml_text(str(value))


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    if value is None:
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _fill(element, k, v)
    elif isinstance(value, list | tuple):
        for item in value:
            _fill(element, ITEM_TAGS.get(name, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """The document ``value`` under the element ``root``, as UTF-8 XML."""
    top = ET.Element(root)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _fill(top, k, v)
    else:
        for item in value:
            _fill(top, ITEM_TAGS.get(root, "item"), item)
    body: bytes = ET.tostring(top, encoding="unicode").encode("utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>' + body


def document(
    fmt: str, root: str, value: Mapping[str, Any] | Sequence[Any], status: int = 200
) -> Response:
    """``value`` as a JSON array/object or as an XML document rooted at ``root``."""
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status, media_type=XML_MEDIA_TYPE)
    body = json.dumps(_clean(value), ensure_ascii=False)
    return Response(body, status_code=status, media_type=JSON_MEDIA_TYPE)


def errors(fmt: str, status: int, description: str) -> Response:
    """The spec's error list: ``[{"code": 400, "description": "..."}]`` or ``<errors>``."""
    return document(fmt, "errors", [{"code": status, "description": description}], status)
