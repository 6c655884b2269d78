"""Text fit for XML 1.0, which cannot carry most control characters or lone surrogates."""

from __future__ import annotations

import re

# Characters XML 1.0 cannot carry; a text holding one makes the whole document unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", value)
