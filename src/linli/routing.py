"""The one explicit list of routers."""

from __future__ import annotations

from fastapi import APIRouter

from linli.account import api as account_api
from linli.account import mfa_pages as account_mfa_pages
from linli.account import pages as account_pages
from linli.alarm import api as alarm_api
from linli.alarm import pages as alarm_pages
from linli.audit import api as audit_api
from linli.audit import pages as audit_pages
from linli.case import api as case_api
from linli.case import pages as case_pages
from linli.device import api as device_api
from linli.device import pages as device_pages
from linli.environment import api as environment_api
from linli.environment import aqi_api as environment_aqi_api
from linli.environment import pages as environment_pages
from linli.incident import api as incident_api
from linli.incident import pages as incident_pages
from linli.incident import responder_pages as incident_responder_pages
from linli.incident import warnings_api as incident_warnings_api
from linli.incident import warnings_pages as incident_warnings_pages
from linli.notice import api as notice_api
from linli.notice import pages as notice_pages
from linli.notification import api as notification_api
from linli.notification import pages as notification_pages
from linli.place import api as place_api
from linli.place import pages as place_pages
from linli.points import api as points_api
from linli.points import pages as points_pages
from linli.poll import api as poll_api
from linli.poll import pages as poll_pages
from linli.privacy import consent_api as privacy_consent_api
from linli.privacy import consent_pages as privacy_consent_pages
from linli.privacy import retention_api as privacy_retention_api
from linli.privacy import subject_api as privacy_subject_api
from linli.privacy import subject_pages as privacy_subject_pages
from linli.proposal import api as proposal_api
from linli.proposal import pages as proposal_pages
from linli.resident import api as resident_api
from linli.resident import pages as resident_pages
from linli.rule import api as rule_api
from linli.rule import pages as rule_pages
from linli.sharing import api as sharing_api
from linli.sharing import pages as sharing_pages
from linli.standards.cap import api as cap_api
from linli.standards.open311 import api as open311_api
from linli.standards.sta import api as sta_api
from linli.telemetry import api as telemetry_api
from linli.telemetry import pages as telemetry_pages
from linli.telemetry import series_api as telemetry_series_api
from linli.waste import api as waste_api
from linli.waste import pages as waste_pages
from linli.web import ops
from linli.web import pages as web_pages

ROUTERS: tuple[APIRouter, ...] = (
    ops.router,
    web_pages.router,
    account_pages.router,
    account_mfa_pages.router,
    resident_pages.router,
    audit_pages.router,
    place_pages.router,
    device_pages.router,
    telemetry_pages.router,
    rule_pages.router,
    alarm_pages.router,
    poll_pages.router,
    notice_pages.router,
    proposal_pages.router,
    account_api.router,
    place_api.router,
    resident_api.router,
    audit_api.router,
    sta_api.router,
    cap_api.router,
    open311_api.router,
    device_api.router,
    telemetry_series_api.router,
    rule_api.router,
    alarm_api.router,
    notice_api.router,
    proposal_api.router,
    notification_pages.router,
    notification_api.router,
    case_pages.router,
    case_api.router,
    poll_api.router,
    environment_pages.router,
    environment_api.router,
    environment_aqi_api.router,
    waste_pages.router,
    waste_api.router,
    points_pages.router,
    points_api.router,
    incident_api.router,
    incident_pages.router,
    incident_responder_pages.router,
    incident_warnings_api.router,
    incident_warnings_pages.router,
    sharing_pages.router,
    sharing_api.router,
    sharing_api.feed_router,
    privacy_subject_pages.router,
    privacy_subject_api.router,
    privacy_consent_pages.router,
    privacy_consent_api.router,
    privacy_retention_api.router,
    # Last: its /api/v1/{device_token}/telemetry alias must not shadow a named route.
    telemetry_api.router,
)
