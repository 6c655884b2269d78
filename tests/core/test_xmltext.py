"""Text that reaches XML documents never makes them unreadable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from linli.core.xmltext import xml_text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_survives_an_xml_round_trip(value: str) -> None:
    element = ET.Element("t")
    element.text = xml_text(value)
    parsed = ET.fromstring(ET.tostring(element, encoding="unicode"))  # noqa: S314  # our own
    # What XML can carry is kept as it was (XML reads a carriage return as a line feed).
    expected = xml_text(value).replace("\r\n", "\n").replace("\r", "\n")
    assert (parsed.text or "") == expected


def test_control_characters_become_the_replacement_character() -> None:
    assert xml_text("a\x01b\x1fc\td\ne") == "a\ufffdb\ufffdc\td\ne"
