"""The c1 objects of the cross-tenant checks in test_http_security.py (see tests/security)."""

from tests.security.conftest import (
    c1_alarm,
    c1_breach,
    c1_case,
    c1_device,
    c1_export,
    c1_incident,
    c1_notice,
    c1_poll,
    c1_proposal,
    c1_recipient,
    c1_redemption,
    c1_rule,
)

__all__ = [
    "c1_alarm",
    "c1_breach",
    "c1_case",
    "c1_device",
    "c1_export",
    "c1_incident",
    "c1_notice",
    "c1_poll",
    "c1_proposal",
    "c1_recipient",
    "c1_redemption",
    "c1_rule",
]
