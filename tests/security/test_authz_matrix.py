"""The authorization matrix: every route of the app (the OpenAPI schema and the HTML pages) ×
six actors, checked against a declared policy.

The actors, all about objects of community c1 (seeded by ``seeded`` in conftest.py, one for every
path parameter; where an object has an owner, it is alice's):

- ``anonymous``: no credentials;
- ``resident``: alice, a resident of c1 and the owner of the objects;
- ``neighbour``: bob, a resident of the same building of c1 who owns none of them;
- ``stranger``: staff2, community staff of the other community c2;
- ``staff``: staff1, community staff of c1;
- ``admin``: admin1, the community administrator of c1.

Machine routes (/api, /sta, /open311, /cap, /sharing/feeds, /metrics ...) are called with each
actor's API key (Bearer); pages with each actor's logged-in session and its CSRF token.

The policy (``POLICY``) names, for every "METHOD path" of the app, who may use it. A route the
table does not list fails the test (a new endpoint must be classified), and so does an entry for
a route that no longer exists. For a GET, every actor is asked: those allowed must get an answer
(2xx, or a redirect that is not to the login page), the others a refusal (401, 403 or 404; a page
sends an anonymous visitor to the login page). For a state-changing route only the actors who
must be refused are sent the request (with a body built from the schema or the form's fields, and
the session's CSRF token); each must be refused and the database must not have changed (every
table but the audit log, rate-limit counters and session bookkeeping is compared). Bodies the
schema alone cannot make valid are written out in ``bodies`` so that a request reaches the
permission check instead of being turned away as invalid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Route

from linli.core.db import Base
from linli.web.errors import MACHINE_PREFIXES
from tests.conftest import World, bearer, csrf_of

pytestmark = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

ACTORS = ("anonymous", "resident", "neighbour", "stranger", "staff", "admin")
USERS = {
    "resident": "alice",
    "neighbour": "bob",
    "stranger": "staff2",
    "staff": "staff1",
    "admin": "admin1",
}

# --- the policy ---------------------------------------------------------------------------------
# Who may use a route. The names are sets of actors.
PUBLIC = frozenset(ACTORS)
# Any logged-in person; the route is about the caller's own account (or lists filtered to what
# the caller may see).
LOGIN = frozenset(ACTORS) - {"anonymous"}
# People of the object's community: its residents (owner or not) and its staff.
MEMBERS = frozenset({"resident", "neighbour", "staff", "admin"})
# The object's owner and the staff of its community.
OWNER_STAFF = frozenset({"resident", "staff", "admin"})
# Only the owner (a resident's own route: not even staff reach it this way).
OWNER = frozenset({"resident"})
# Residents of the community only (resident-facing actions staff do not take for themselves).
RESIDENTS = frozenset({"resident", "neighbour"})
# Staff of any community: the console pages list what the caller's own community holds.
ANY_STAFF = frozenset({"stranger", "staff", "admin"})
# The object's community staff (and its administrator).
STAFF = frozenset({"staff", "admin"})
# The community administrator only.
ADMIN = frozenset({"admin"})
# None of the six: the route takes another credential (a device token, a feed token).
NOBODY: frozenset[str] = frozenset()

POLICY_TEXT: dict[frozenset[str], str] = {
    PUBLIC: """
        GET /
        GET /api/docs
        GET /api/v1/environment/aqi
        GET /api/v1/environment/observations.csv
        GET /api/v1/environment/observations.json
        GET /api/v1/environment/status
        GET /api/v1/environment/trends
        GET /api/v1/privacy/notice
        GET /cap/alerts.atom
        GET /cap/alerts/{alert_id}.xml
        GET /docs/oauth2-redirect
        GET /environment
        GET /environment/aqi
        GET /environment/series/{place_id}/{metric}
        GET /healthz
        GET /help
        GET /login
        POST /login
        POST /logout
        GET /metrics
        GET /open311/v2/discovery.{fmt}
        GET /open311/v2/requests.{fmt}
        POST /open311/v2/requests.{fmt}
        GET /open311/v2/requests/{service_request_id}.{fmt}
        GET /open311/v2/servicerequestupdates.{fmt}
        GET /open311/v2/services.{fmt}
        GET /open311/v2/services/{service_code}.{fmt}
        GET /open311/v2/tokens/{token}.{fmt}
        GET /openapi.json
        POST /prefs
        GET /privacy
        GET /proposals
        GET /proposals/{proposal_id}
        GET /readyz
        GET /sta/v1.1
        GET /sta/v1.1/
        GET /sta/v1.1/sensor-descriptions/{sensor_id}
        GET /sta/v1.1/{path:path}
        GET /waste/assets/waste-charts.js
        GET /waste/assets/waste.css
    """,
    LOGIN: """
        PUT /api/v1/notification-preferences
        POST /api/v1/similar-cases
        GET /api/v1/case-categories
        GET /api/v1/cases
        GET /api/v1/dispatch-offers
        GET /api/v1/emergencies
        GET /api/v1/equipment
        GET /api/v1/households
        GET /api/v1/incidents
        GET /api/v1/me
        GET /api/v1/me/api-keys
        POST /api/v1/me/api-keys
        GET /api/v1/me/disclosures
        POST /api/v1/me/logout-everywhere
        PATCH /api/v1/me/preferences
        PATCH /api/v1/me/resident
        GET /api/v1/me/sessions
        GET /api/v1/notices
        GET /api/v1/notification-preferences
        GET /api/v1/notifications
        POST /api/v1/notifications/read-all
        GET /api/v1/places
        GET /api/v1/polls
        GET /api/v1/proposal-settings
        GET /api/v1/proposals
        GET /api/v1/residents
        GET /api/v1/responders
        GET /api/v1/sharing/breaches
        GET /api/v1/sharing/exports
        GET /api/v1/sharing/recipients
        GET /api/v1/site-points
        POST /cases/new
        POST /console/assist/stop
        GET /me/cases
        GET /me/disclosures
        GET /me/notices
        GET /me/notifications
        POST /me/notifications/preferences
        POST /me/notifications/read-all
        GET /me/notifications/stream
        POST /me/points/leaderboard/choice
        GET /me/privacy
        POST /me/profile/phone
        POST /me/profile/reveal
        POST /me/proposals/new
        GET /me/responder/stream
        GET /me/security/mfa
        POST /me/security/mfa
        POST /me/security/mfa/disable
        POST /me/security/mfa/recovery-codes
        POST /me/session/extend
        GET /me/session/status
        GET /me/settings
        POST /me/settings/api-keys
        POST /me/settings/logout-everywhere
        GET /polls
    """,
    MEMBERS: """
        POST /polls/{poll_id:int}/check
        POST /api/v1/cases
        GET /api/v1/emergencies/{emergency_id}
        POST /api/v1/emergencies/{emergency_id}/answer
        GET /api/v1/notices/{notice_id}
        POST /api/v1/notices/{notice_id}/read
        GET /api/v1/places/{place_id}
        POST /api/v1/points/redemptions
        GET /api/v1/polls/{poll_id}
        GET /api/v1/polls/{poll_id}/my-vote
        GET /api/v1/polls/{poll_id}/receipts/{receipt}
        GET /api/v1/polls/{poll_id}/results
        POST /api/v1/polls/{poll_id}/vote
        POST /api/v1/proposals
        GET /api/v1/proposals/{proposal_id}
        DELETE /api/v1/proposals/{proposal_id}/support
        POST /api/v1/proposals/{proposal_id}/support
        GET /me/emergencies/{emergency_id}
        GET /me/notices/{notice_id}
        GET /polls/{poll_id:int}
        GET /polls/{poll_id:int}/check
        GET /polls/{poll_id:int}/results
    """,
    RESIDENTS: """
        POST /proposals/{proposal_id}/unsupport
        POST /proposals/{proposal_id}/support
        POST /polls/{poll_id:int}/vote
        PUT /api/v1/points/me/leaderboard
        GET /api/v1/me/access-log
        GET /api/v1/me/consents
        POST /api/v1/me/consents
        POST /api/v1/me/consents/{purpose}/withdraw
        POST /api/v1/me/corrections
        POST /api/v1/me/deletion
        GET /api/v1/me/export
        POST /api/v1/me/export-links
        GET /api/v1/me/privacy-requests
        GET /api/v1/me/waste/disposals
        GET /api/v1/points/leaderboard
        GET /api/v1/points/me
        GET /api/v1/points/me/leaderboard
        GET /api/v1/points/me/redemptions
        GET /api/v1/points/rewards
        GET /cases/new
        GET /me
        GET /me/data
        GET /me/data/export
        GET /me/deletion
        POST /me/deletion
        GET /me/points
        GET /me/points/leaderboard
        GET /me/points/leaderboard/choice
        GET /me/points/rewards/{reward_id:int}
        POST /me/privacy/give
        POST /me/privacy/withdraw
        GET /me/profile
        GET /me/proposals/new
        GET /me/requests
        POST /me/requests/corrections
        POST /me/requests/links
        GET /me/sorting
    """,
    OWNER_STAFF: """
        POST /me/points/redemptions/{redemption_id:int}/cancel
        GET /api/v1/cases/{case_id}
        POST /api/v1/cases/{case_id}/close
        POST /api/v1/cases/{case_id}/comments
        DELETE /api/v1/cases/{case_id}/follow
        PUT /api/v1/cases/{case_id}/follow
        GET /api/v1/cases/{case_id}/photos
        POST /api/v1/cases/{case_id}/photos
        GET /api/v1/cases/{case_id}/photos/{photo_id}
        POST /api/v1/cases/{case_id}/rating
        POST /api/v1/cases/{case_id}/reopen
        GET /api/v1/households/{household_id}
        GET /api/v1/points/redemptions/{redemption_id}
        POST /api/v1/points/redemptions/{redemption_id}/cancel
        POST /api/v1/proposals/{proposal_id}/withdraw
        GET /api/v1/residents/{resident_id}
        POST /api/v1/residents/{resident_id}/reveal
        GET /cases/{case_id}
        POST /cases/{case_id}/close
        POST /cases/{case_id}/comments
        POST /cases/{case_id}/follow
        POST /cases/{case_id}/photos
        GET /cases/{case_id}/photos/{photo_id}
        POST /cases/{case_id}/rating
        POST /cases/{case_id}/reopen
    """,
    OWNER: """
        DELETE /api/v1/me/export-links/{link_id}
        POST /api/v1/notifications/{notification_id}/read
        POST /me/emergencies/{emergency_id}/answer
        POST /me/notifications/{notification_id}/read
        POST /me/points/rewards/{reward_id:int}
        POST /me/requests/links/{link_id}/revoke
        POST /me/responder/offers/{offer_id}/accept
        POST /me/responder/offers/{offer_id}/decline
        POST /me/responder/{responder_id}/status
        POST /proposals/{proposal_id}/withdraw
    """,
    ANY_STAFF: """
        POST /api/v1/rules/backtest
        # The event streams carry only the events of the places the caller may see (like the
        # lists): staff of c2 get a stream of c2's alarms and incidents, never c1's.
        GET /api/v1/alarms
        GET /api/v1/alarms/counts
        GET /api/v1/alarms/stream
        GET /api/v1/cases/queue
        GET /api/v1/device-profiles
        GET /api/v1/devices
        GET /api/v1/evacuation-needs
        GET /api/v1/notification-endpoints
        GET /api/v1/notification-outbox
        GET /api/v1/privacy/requests
        GET /api/v1/rule-templates
        GET /api/v1/rules
        GET /api/v1/waste/bins
        GET /api/v1/waste/categories
        GET /api/v1/waste/flagged
        GET /api/v1/waste/plans/latest
        GET /api/v1/waste/rates
        GET /api/v1/waste/trucks
        GET /console
        GET /console/alarms
        GET /console/alarms/plan
        GET /console/alarms/stream
        GET /console/cases
        GET /console/devices
        GET /console/emergencies
        GET /console/emergencies/new
        GET /console/environment
        GET /console/equipment
        GET /console/evacuation-needs
        GET /console/incidents
        GET /console/incidents/live
        GET /console/incidents/new
        GET /console/incidents/stream
        GET /console/map
        GET /console/notices
        GET /console/notices/new
        GET /console/notifications
        GET /console/places
        GET /console/points
        GET /console/points/household
        GET /console/points/rewards
        GET /console/points/rules
        GET /console/points/volunteering
        GET /console/polls
        GET /console/polls/new
        GET /console/privacy-requests
        GET /console/proposals
        GET /console/quarantine
        GET /console/residents
        GET /console/responders
        GET /console/rules
        GET /console/rules/new
        GET /console/sorting-check
        GET /console/waste
        GET /console/waste/fraud
        GET /console/waste/plan
        GET /console/waste/rates
    """,
    STAFF: """
        POST /api/v1/accounts
        POST /api/v1/accounts/{account_id}/grants
        GET /api/v1/alarms/{alarm_id}
        POST /api/v1/alarms/{alarm_id}/acknowledge
        POST /api/v1/alarms/{alarm_id}/comments
        POST /api/v1/cases/{case_id}/assign
        POST /api/v1/cases/{case_id}/duplicate
        POST /api/v1/cases/{case_id}/notes
        POST /api/v1/cases/{case_id}/refer
        POST /api/v1/cases/{case_id}/resolve
        POST /api/v1/cases/{case_id}/start
        POST /api/v1/cases/{case_id}/triage
        GET /api/v1/datastreams/{datastream_id}/export
        GET /api/v1/datastreams/{datastream_id}/series
        POST /api/v1/devices
        GET /api/v1/devices/{device_id}
        GET /api/v1/devices/{device_id}/datastreams
        POST /api/v1/devices/{device_id}/disable
        POST /api/v1/devices/{device_id}/enable
        POST /api/v1/devices/{device_id}/token
        POST /api/v1/dispatch-offers/{offer_id}/accept
        POST /api/v1/dispatch-offers/{offer_id}/decline
        POST /api/v1/emergencies
        GET /api/v1/emergencies/{emergency_id}/board
        POST /api/v1/emergencies/{emergency_id}/end
        POST /api/v1/emergencies/{emergency_id}/responses
        POST /api/v1/equipment
        GET /api/v1/equipment/{equipment_id}
        POST /api/v1/equipment/{equipment_id}/condition
        DELETE /api/v1/evacuation-needs/{resident_id}
        PUT /api/v1/evacuation-needs/{resident_id}
        DELETE /api/v1/grants/{grant_id}
        POST /api/v1/households
        POST /api/v1/incident-dispatches
        POST /api/v1/incidents
        POST /api/v1/incidents/from-case/{case_id}
        GET /api/v1/incidents/{incident_id}
        PATCH /api/v1/incidents/{incident_id}
        POST /api/v1/incidents/{incident_id}/close
        POST /api/v1/incidents/{incident_id}/dispatch
        GET /api/v1/incidents/{incident_id}/door-to-door
        GET /api/v1/incidents/{incident_id}/offers
        GET /api/v1/incidents/{incident_id}/recommendation
        POST /api/v1/incidents/{incident_id}/status
        GET /api/v1/incidents/{incident_id}/warnings
        POST /api/v1/incidents/{incident_id}/warnings
        POST /api/v1/notices
        GET /api/v1/notices/{notice_id}/receipts
        POST /api/v1/notification-endpoints
        DELETE /api/v1/notification-endpoints/{endpoint_id}
        PATCH /api/v1/notification-endpoints/{endpoint_id}
        POST /api/v1/notification-outbox/{notification_id}/retry
        POST /api/v1/places
        POST /api/v1/points/adjustments
        GET /api/v1/points/communities/{community_id}/rules
        GET /api/v1/points/communities/{community_id}/settings
        PUT /api/v1/points/communities/{community_id}/settings
        GET /api/v1/points/households/{household_id}/statement
        GET /api/v1/points/redemptions
        POST /api/v1/points/redemptions/{redemption_id}/confirm
        POST /api/v1/points/rewards
        PATCH /api/v1/points/rewards/{reward_id}
        PUT /api/v1/points/rules/{rule_id}
        POST /api/v1/points/volunteering
        POST /api/v1/polls
        POST /api/v1/polls/{poll_id}/close
        POST /api/v1/polls/{poll_id}/open
        POST /api/v1/polls/{poll_id}/paper-ballots
        POST /api/v1/privacy/guardians
        POST /api/v1/privacy/requests/{request_id}/approval
        POST /api/v1/privacy/requests/{request_id}/refusal
        PUT /api/v1/proposal-settings
        POST /api/v1/proposals/{proposal_id}/answer
        POST /api/v1/proposals/{proposal_id}/hide
        POST /api/v1/proposals/{proposal_id}/restore
        POST /api/v1/residents
        POST /api/v1/residents/{resident_id}/erasure
        POST /api/v1/responders
        GET /api/v1/responders/{responder_id}
        POST /api/v1/responders/{responder_id}/status
        POST /api/v1/rules
        DELETE /api/v1/rules/{rule_id:int}
        GET /api/v1/rules/{rule_id:int}
        PATCH /api/v1/rules/{rule_id:int}
        POST /api/v1/rules/{rule_id:int}/backtest
        GET /api/v1/rules/{rule_id:int}/export
        POST /api/v1/sharing/recipients
        PATCH /api/v1/sharing/recipients/{recipient_id}
        POST /api/v1/sharing/recipients/{recipient_id}/deactivate
        PUT /api/v1/site-points/{place_id}
        POST /api/v1/waste/bins
        POST /api/v1/waste/cards
        POST /api/v1/waste/disposals
        POST /api/v1/waste/grades
        POST /api/v1/waste/plans
        POST /api/v1/waste/status
        POST /api/v1/waste/trucks
        POST /console/accounts
        POST /console/accounts/grants
        GET /console/alarms/{alarm_id}
        POST /console/alarms/{alarm_id}/acknowledge
        POST /console/alarms/{alarm_id}/comments
        GET /console/alarms/{alarm_id}/row
        GET /console/cases/{case_id}
        POST /console/cases/{case_id}/{action}
        GET /console/datastreams/{datastream_id}
        POST /console/devices/import
        POST /console/devices/new
        GET /console/devices/{device_id}
        POST /console/devices/{device_id}/disable
        POST /console/devices/{device_id}/enable
        POST /console/devices/{device_id}/token
        POST /console/emergencies
        GET /console/emergencies/{emergency_id}
        POST /console/emergencies/{emergency_id}/end
        POST /console/emergencies/{emergency_id}/responses
        GET /console/emergencies/{emergency_id}/stream
        GET /console/emergencies/{emergency_id}/visits
        POST /console/environment
        POST /console/equipment
        POST /console/equipment/{equipment_id}/condition
        POST /console/evacuation-needs
        POST /console/evacuation-needs/{resident_id}/clear
        POST /console/incidents
        GET /console/incidents/from-case/{case_id}
        POST /console/incidents/from-case/{case_id}
        GET /console/incidents/{incident_id}
        POST /console/incidents/{incident_id}/close
        POST /console/incidents/{incident_id}/commander
        POST /console/incidents/{incident_id}/dispatch
        GET /console/incidents/{incident_id}/door-to-door
        POST /console/incidents/{incident_id}/point
        POST /console/incidents/{incident_id}/recommend
        POST /console/incidents/{incident_id}/severity
        POST /console/incidents/{incident_id}/status
        GET /console/incidents/{incident_id}/warn
        POST /console/incidents/{incident_id}/warn
        POST /console/notices
        POST /console/notifications/endpoints
        POST /console/notifications/endpoints/{endpoint_id}/delete
        POST /console/notifications/endpoints/{endpoint_id}/enabled
        POST /console/notifications/{notification_id}/retry
        GET /console/points/households/{household_id:int}
        POST /console/points/households/{household_id:int}/adjust
        POST /console/points/redemptions/{redemption_id:int}/cancel
        POST /console/points/redemptions/{redemption_id:int}/confirm
        POST /console/points/rewards
        POST /console/points/rewards/{reward_id:int}
        POST /console/points/rules/{rule_id:int}
        POST /console/points/settings
        POST /console/points/volunteering
        POST /console/polls/new
        GET /console/polls/{poll_id:int}
        POST /console/polls/{poll_id:int}/close
        POST /console/polls/{poll_id:int}/open
        POST /console/polls/{poll_id:int}/paper
        POST /console/privacy-requests/erase
        POST /console/privacy-requests/{request_id}/approve
        POST /console/privacy-requests/{request_id}/refuse
        GET /console/proposals/{proposal_id}
        POST /console/proposals/{proposal_id}/answer
        POST /console/proposals/{proposal_id}/hide
        POST /console/proposals/{proposal_id}/restore
        POST /console/residents
        GET /console/residents/{resident_id}
        POST /console/residents/{resident_id}/assist
        POST /console/residents/{resident_id}/reveal
        POST /console/responders
        POST /console/responders/{responder_id}
        POST /console/rules/new
        GET /console/rules/{rule_id:int}
        POST /console/rules/{rule_id:int}
        GET /console/rules/{rule_id:int}/delete
        POST /console/rules/{rule_id:int}/delete
        POST /console/rules/{rule_id:int}/switch
        POST /console/sharing
        POST /console/sharing/{recipient_id}
        POST /console/sharing/{recipient_id}/deactivate
        POST /console/sorting-check/{disposal_id:int}
        POST /console/waste/plan
        GET /console/waste/plans/{plan_id:int}/sheet
    """,
    ADMIN: """
        POST /sta/v1.1/{path:path}
        GET /api/v1/accounts
        GET /api/v1/audit/events
        POST /api/v1/privacy/assessments
        GET /api/v1/privacy/communities/{community_id}/modules
        PUT /api/v1/privacy/communities/{community_id}/modules/{module}
        GET /api/v1/privacy/retention-runs
        POST /api/v1/sharing/breaches
        GET /api/v1/sharing/breaches/{breach_id}
        GET /api/v1/sharing/disclosures
        POST /api/v1/sharing/exports
        POST /api/v1/sharing/exports/{export_id}/decision
        GET /api/v1/sharing/exports/{export_id}/file
        GET /api/v1/sharing/recipients/{recipient_id}
        GET /console/accounts
        GET /console/audit
        GET /console/devices/import
        GET /console/devices/new
        GET /console/privacy/retention
        GET /console/sharing
        GET /console/sharing/disclosures
        GET /console/sharing/new
        GET /console/sharing/{recipient_id}
    """,
    # The owner revokes their own key; the administrator of the owner's community may revoke
    # it too (a lost phone, a leaked key), and that revocation is audited.
    frozenset({"resident", "admin"}): """
        POST /me/settings/api-keys/{key_id}/revoke
        DELETE /api/v1/me/api-keys/{key_id}
    """,
    NOBODY: """
        POST /api/v1/telemetry
        POST /api/v1/{device_token}/telemetry
        GET /login/mfa
        POST /login/mfa
        GET /me/responder
        GET /me/responder/live
        GET /privacy/exports/{token}
        GET /sharing/feeds/{recipient_id}/alerts.atom
        GET /sharing/feeds/{recipient_id}/alerts/{disclosure_id}.xml
    """,
}

# Server-sent event streams never end: only the refusals are checked for them.
STREAMS = {
    "GET /api/v1/alarms/stream",
    "GET /me/notifications/stream",
    "GET /console/alarms/stream",
    "GET /console/emergencies/{emergency_id}/stream",
    "GET /console/incidents/stream",
    "GET /me/responder/stream",
}

# Routes whose object the world does not seed (or holds in a state where the route has nothing
# to show, e.g. results of a poll still open): actors allowed must not be refused (no 401, 403 or
# login redirect), and may get 404/409/4xx; the refusals are checked as for every route.
UNSEEDED = {
    "GET /api/v1/points/redemptions",
    "GET /api/v1/polls/{poll_id}/results",
    "GET /polls/{poll_id:int}/results",
    "GET /api/v1/waste/plans/latest",
    "GET /api/v1/waste/rates",
    "GET /cap/alerts/{alert_id}.xml",
    "GET /console/waste/plans/{plan_id:int}/sheet",
    "GET /environment/series/{place_id}/{metric}",
    "GET /open311/v2/requests/{service_request_id}.{fmt}",
    "GET /open311/v2/tokens/{token}.{fmt}",
    "GET /sta/v1.1/sensor-descriptions/{sensor_id}",
}


# Bodies the schema alone does not make valid (a rule between fields, an id inside a list):
# without them the request would be turned away as invalid before anyone asked who sends it.
def bodies(ids: dict[str, object]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "POST /api/v1/incidents/{incident_id}/warnings": {
            "headline": "请注意燃气泄漏",
            "place_ids": [ids["place_id"]],
        },
        "POST /api/v1/notification-endpoints": {
            "place_id": ids["place_id"],
            "channel": "webhook",
            "name": "物业值班",
            "url": "http://127.0.0.1:9/hook",
            "secret": "s" * 20,
        },
        "POST /api/v1/polls": {
            "place_id": ids["place_id"],
            "title": "是否加装电梯",
            "options": ["同意", "反对"],
        },
        "POST /api/v1/residents": {"household_id": ids["household_id"], "name": "赵六"},
        "POST /api/v1/rules": {"template": "noise_class_1", "place_id": ids["community_id"]},
        "POST /api/v1/waste/status": {"bin_id": ids["bin_id"], "fill_level": 50},
        "POST /api/v1/waste/trucks": {
            "community_id": ids["community_id"],
            "name": "一号车",
            "capacity_kg": 1000,
            "capacity_l": 8000,
            "depot_latitude": 39.9,
            "depot_longitude": 116.4,
            "shift_start_min": 360,
            "shift_end_min": 720,
        },
        "POST /api/v1/waste/disposals": {
            "items": [
                {
                    "event_id": "authz-1",
                    "card": "CARD0001",
                    "bin_id": ids["bin_id"],
                    "weight_kg": 1.5,
                    "occurred_at": now,
                }
            ]
        },
        "POST /api/v1/waste/grades": {
            "items": [{"event_id": "authz-1", "bin_id": ids["bin_id"], "result": "correct"}]
        },
        "POST /sta/v1.1/{path:path}": {
            "name": "某传感器",
            "description": "x",
            "properties": {"place": ids["place_id"], "profile": "noise", "uid": "authz-1"},
        },
    }


# Batch uploads answer 200 with a result per item: an item about an object the caller may not
# touch is rejected on its own line, and that is the refusal.
BATCHES = {"POST /api/v1/waste/disposals", "POST /api/v1/waste/grades"}


def batch_refused(answer: Any) -> bool:
    return (
        isinstance(answer, dict)
        and answer.get("accepted") == 0
        and all(item.get("status") == "rejected" for item in answer.get("items", []))
    )


# Form fields a page reads by hand (not declared on the route).
FORMS: dict[str, dict[str, str]] = {
    "POST /console/environment": {"place": "{community_id}", "aqi_standard": "cn"},
}

# Path parameters that are not object ids.
FIXED_PARAMS: dict[str, str] = {
    "fmt": "json",
    "path": "Things",
    "metric": "pm25",
    "action": "triage",
    "service_code": "light",
    "device_token": "not-a-device-token",
    "token": "not-a-token-but-long-enough-to-be-one",
    "purpose": "points_programme",
    "module": "health_monitoring",
}

# Query parameters a route needs before it looks at who asks.
QUERIES: dict[str, dict[str, str]] = {
    "GET /api/v1/points/redemptions": {"community_id": "{community_id}"},
    "GET /api/v1/waste/rates": {"start": "2026-01-01", "end": "2026-01-31"},
}

FOREIGN_ORIGIN = "https://attacker.example"
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")
# Tables that record the refusals themselves or session bookkeeping, not state a refused request
# could have changed on someone's behalf.
# The rule engine's checkpoints (``rule_states``) are written by its own thread on its own
# schedule, whatever the requests; the rules themselves are compared.
VOLATILE = {
    "audit_events",
    "audit_chain",
    "rate_limit_hits",
    "auth_sessions",
    "sessions",
    "rule_states",
}
# Columns that record use, not state: an API key's last use.
VOLATILE_COLUMNS = {("api_keys", "last_used_at")}


def policy() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for allowed, text in POLICY_TEXT.items():
        for line in text.strip().splitlines():
            key = " ".join(line.split("#", 1)[0].split())
            if not key:
                continue
            assert key not in table, f"{key} is classified twice"
            table[key] = allowed
    return table


def app_routes(app: FastAPI) -> list[str]:
    """'METHOD path' of every route of the app: the OpenAPI operations and the pages."""
    found: set[str] = set()
    for route in app.routes:
        if not isinstance(route, APIRoute | Route):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add(f"{method} {route.path}")
    schema_ops = {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    # The schema names int-converted parameters without the converter.
    plain = {PARAM.sub(lambda m: "{" + m.group(1) + "}", r) for r in found}
    missing = {op for op in schema_ops if op not in plain}
    assert not missing, f"operations in the schema but not among the routes: {missing}"
    return sorted(found)


def fill(path: str, ids: dict[str, object]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ids:
            return str(ids[name])
        return FIXED_PARAMS.get(name, "999999")

    return PARAM.sub(value, path)


def is_machine(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


# --- request bodies -----------------------------------------------------------------------------


def sample(schema: dict[str, Any], components: dict[str, Any], ids: dict[str, object], name: str):  # type: ignore[no-untyped-def]
    """A small value satisfying ``schema`` (ids taken from the seeded world by field name)."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        return sample(components[ref], components, ids, name)
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            options = [s for s in schema[combo] if s.get("type") != "null"]
            return sample(options[0], components, ids, name) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            k: sample(props[k], components, ids, k)
            for k in schema.get("required", [])
            if k in props
        }
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        return [sample(schema.get("items", {}), components, ids, name) for _ in range(count)]
    if kind == "integer":
        if name.endswith("_id") and isinstance(ids.get(name), int):
            return ids[name]
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1)), 1.0)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format", "")
        if fmt == "date-time":
            return dt.datetime.now(dt.UTC).isoformat()
        if fmt == "date":
            return dt.datetime.now(dt.UTC).date().isoformat()
        return "x" * max(int(schema.get("minLength", 1)), 1)
    return "x"


def json_body(app: FastAPI, method: str, path: str, ids: dict[str, object]) -> Any:
    schema = app.openapi()
    plain = PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
    op = schema["paths"].get(plain, {}).get(method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return sample(
            content["application/json"]["schema"], schema["components"]["schemas"], ids, ""
        )
    return None


def form_body(route: APIRoute, ids: dict[str, object]) -> dict[str, str]:
    """A value for every form field of a page route (an id where the field names one)."""
    data: dict[str, str] = {}
    for param in route.dependant.body_params:
        name = param.alias
        value = ids.get(name)
        data[name] = str(value) if value is not None else "1" if name.endswith("_id") else "x"
    return data


# --- the world ----------------------------------------------------------------------------------


def fingerprint(db: Session) -> dict[str, str]:
    """A digest of every table's rows (but the volatile ones)."""
    db.rollback()
    db.expire_all()
    out: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in VOLATILE:
            continue
        columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
        rows = sorted(repr(tuple(r)) for r in db.execute(select(*columns)).all())
        out[table.name] = hashlib.blake2b("\n".join(rows).encode(), digest_size=16).hexdigest()
    return out


@pytest.fixture
def callers(
    client: TestClient, make_client: Callable[..., TestClient], world: World
) -> dict[str, tuple[TestClient, str]]:
    """Each actor's logged-in browser session and its CSRF token (anonymous: none, with the
    token of its anonymous page)."""
    out: dict[str, tuple[TestClient, str]] = {}
    for actor in ACTORS:
        c = make_client(USERS.get(actor))
        out[actor] = (c, csrf_of(c.get("/login" if actor == "anonymous" else "/").text))
    return out


def header_problems(key: str, path: str, r: Any) -> list[str]:
    """The security headers every answer carries (checklist A16, and A21 for personal data)."""
    h = r.headers
    csp = h.get("content-security-policy", "")
    problems = []
    if "frame-ancestors 'none'" not in csp or "default-src 'self'" not in csp:
        problems.append("CSP without default-src 'self' and frame-ancestors 'none'")
    if h.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if h.get("referrer-policy") not in ("same-origin", "no-referrer"):
        problems.append("no strict Referrer-Policy")
    if "access-control-allow-origin" in h:
        problems.append("a CORS allow-origin header for a foreign origin")
    private = path == "/me" or path.startswith(
        ("/me/", "/console", "/api/v1/me", "/api/v1/residents")
    )
    if private and r.status_code == 200 and h.get("cache-control") != "no-store":
        problems.append("personal data without Cache-Control: no-store")
    return [f"{key} ({r.status_code}): {p}" for p in problems]


def allowed_answer(status: int, location: str) -> bool:
    return 200 <= status < 300 or (300 <= status < 400 and "/login" not in location)


def refusal(status: int, location: str, *, machine: bool, mutating: bool) -> bool:
    """A refusal: 401, 403 or 404; a page sends an anonymous visitor to the login page. A
    form post may also be turned away as a person would be, with the form shown again (400,
    409, 422) or a redirect back with a message; the database check after the route proves
    that nothing it asked for was done."""
    if status in (401, 403, 404):
        return True
    if machine:
        return False
    if status in (302, 303) and location.startswith("/login"):
        return True
    return mutating and (status in (400, 409, 422) or status in (302, 303))


def test_authorization_matrix(
    app: FastAPI,
    client: TestClient,
    db: Session,
    world: World,
    ids: dict[str, object],
    callers: dict[str, tuple[TestClient, str]],
) -> None:
    table = policy()
    routes = app_routes(app)
    body_of = bodies(ids)
    by_key = {
        f"{m} {r.path}": r for r in app.routes if isinstance(r, APIRoute) for m in r.methods or ()
    }
    unclassified = [r for r in routes if r not in table]
    stale = [r for r in table if r not in routes]
    observed: dict[str, set[str]] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    for key in routes:
        method, path = key.split(" ", 1)
        url = fill(path, ids)
        machine = is_machine(path)
        expected = table.get(key)
        mutating = method not in ("GET", "HEAD", "OPTIONS")
        before = fingerprint(db) if mutating else None
        observed[key] = set()
        started = time.perf_counter()
        for actor in ACTORS:
            allowed = expected is not None and actor in expected
            if mutating and (allowed or expected is None):
                continue
            if key in STREAMS and (allowed or expected is None):
                continue
            session, token = callers[actor]
            kwargs: dict[str, Any] = {"follow_redirects": False}
            if key in QUERIES:
                kwargs["params"] = {k: fill(v, ids) for k, v in QUERIES[key].items()}
            if machine:
                c = client
                if actor != "anonymous":
                    kwargs["headers"] = bearer(world, USERS[actor])
                if mutating:
                    kwargs["json"] = body_of.get(key) or json_body(app, method, path, ids)
            else:
                c = session
                if mutating:
                    route = by_key.get(key)
                    data = form_body(route, ids) if route else {}
                    data |= {k: fill(v, ids) for k, v in FORMS.get(key, {}).items()}
                    kwargs["data"] = data | {"csrf_token": token}
            if not mutating:
                # A page of another site must never be let read the answer (no CORS).
                kwargs["headers"] = kwargs.get("headers", {}) | {"Origin": FOREIGN_ORIGIN}
            r = c.request(method, url, **kwargs)
            failures += header_problems(key, path, r)
            location = r.headers.get("location", "")
            if r.status_code >= 500:
                failures.append(f"{key} as {actor}: {r.status_code}")
                continue
            if allowed_answer(r.status_code, location):
                observed[key].add(actor)
            if expected is None:
                continue
            if allowed and key in UNSEEDED:
                if r.status_code in (401, 403) or "/login" in location:
                    failures.append(f"{key} as {actor}: refused ({r.status_code})")
            elif allowed and not allowed_answer(r.status_code, location):
                failures.append(f"{key} as {actor}: expected an answer, got {r.status_code}")
            refused = refusal(r.status_code, location, machine=machine, mutating=mutating)
            if machine and key in BATCHES and r.status_code == 200:
                refused = batch_refused(r.json())
            if not allowed and not refused:
                failures.append(
                    f"{key} as {actor}: expected a refusal, got {r.status_code} {r.text[:200]}"
                )
        timings[key] = time.perf_counter() - started
        if before is not None:
            after = fingerprint(db)
            changed = [t for t in before if before[t] != after.get(t)]
            if changed:
                failures.append(f"{key}: a refused request changed {changed}")
    report = []
    if unclassified:
        report.append("routes the policy does not classify (observed answers in brackets):")
        report += [f"  {k}  [{', '.join(sorted(observed.get(k, set())))}]" for k in unclassified]
    if stale:
        report.append(f"policy entries for routes that no longer exist: {stale}")
    report += failures
    slow = sorted(timings.items(), key=lambda kv: -kv[1])[:15]
    print("slowest routes:", [(k, round(v, 2)) for k, v in slow])
    assert not report, "\n".join(report)
