"""Helpers every domain's HTML pages share: page rendering, labels, paging, form errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from linli.core.actor import ACCOUNT_ADMIN_ROLES, RESIDENT_ADMIN_ROLES, STAFF_ROLES, Actor
from linli.core.errors import NotFound, PermissionDenied
from linli.core.pagination import PageParams
from linli.resident import service as resident_service
from linli.web.deps import CurrentActor, Db
from linli.web.templating import render


def N_(message: str) -> str:  # noqa: N802  # the gettext convention for "mark only"
    """Mark a message for extraction; it is translated later, where it is shown."""
    return message


# Roles that may search the audit log (the audit service checks the same set).
AUDIT_ROLES = frozenset({"auditor", "community_admin", "district_admin"})

LABELS: dict[str, dict[str, str]] = {
    "role": {
        "resident": N_("Resident"),
        "caregiver": N_("Family caregiver"),
        "grid_worker": N_("Grid worker"),
        "community_staff": N_("Community staff"),
        "property_manager": N_("Property manager"),
        "responder": N_("Responder"),
        "police_liaison": N_("Police liaison"),
        "community_admin": N_("Community administrator"),
        "district_admin": N_("District administrator"),
        "auditor": N_("Auditor"),
    },
    "relation": {
        "owner": N_("Owner"),
        "tenant": N_("Tenant"),
        "family": N_("Family member"),
    },
    "gender": {
        "female": N_("Female"),
        "male": N_("Male"),
        "other": N_("Other"),
    },
    "age_group": {
        "child": N_("Child (under 14)"),
        "adult": N_("Adult"),
        "60+": N_("60 or older"),
        "80+": N_("80 or older"),
    },
    "field": {
        "phone": N_("Phone"),
        "id_number": N_("ID number"),
        "date_of_birth": N_("Date of birth"),
    },
    "kind": {
        "city": N_("City"),
        "district": N_("District"),
        "street_office": N_("Street office"),
        "community": N_("Community"),
        "compound": N_("Compound"),
        "building": N_("Building"),
        "unit": N_("Unit"),
    },
    "outcome": {
        "ok": N_("Done"),
        "denied": N_("Refused"),
    },
}


def assist_context(request: Request, db: Db, actor: CurrentActor) -> None:
    """Give the page shell the (masked) name of the resident a staff member is acting for."""
    request.state.assisted_name = ""
    rid = actor.on_behalf_of_resident_id
    if rid is not None:
        try:
            request.state.assisted_name = resident_service.display_name(db, rid)
        except NotFound:
            request.state.assisted_name = f"#{rid}"


AssistContext = Depends(assist_context)


def view(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page of the shell with the shared labels available to the template."""
    ctx: dict[str, Any] = {"labels": LABELS}
    if context:
        ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=headers)


def require_any(actor: Actor, roles: frozenset[str], message: str) -> None:
    """Refuse with a friendly 403 page unless the actor holds one of ``roles`` somewhere."""
    if actor.is_anonymous:
        return  # require_login has already redirected anonymous visitors
    if not actor.roles & roles:
        raise PermissionDenied(message)


def can_see_residents(actor: Actor) -> bool:
    return bool(actor.roles & RESIDENT_ADMIN_ROLES)


def can_manage_accounts(actor: Actor) -> bool:
    return bool(actor.roles & ACCOUNT_ADMIN_ROLES)


def can_read_audit(actor: Actor) -> bool:
    return bool(actor.roles & AUDIT_ROLES)


def is_staff(actor: Actor) -> bool:
    return bool(actor.roles & STAFF_ROLES)


@dataclass(frozen=True)
class Pager:
    """Where a list page is and the links to its neighbours."""

    page: int
    size: int
    total: int
    prev_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.size)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def pager(request: Request, params: PageParams, total: int) -> Pager:
    """Previous and next links that keep the current filters."""

    def link(page: int) -> str:
        url = request.url.include_query_params(page=page)
        return f"{url.path}?{url.query}"

    has_next = params.page * params.size < total
    return Pager(
        page=params.page,
        size=params.size,
        total=total,
        prev_url=link(params.page - 1) if params.page > 1 else None,
        next_url=link(params.page + 1) if has_next else None,
    )


def field_errors(exc: ValidationError, messages: Mapping[str, str]) -> dict[str, str]:
    """Map a schema's validation errors to one plain message per form field.

    ``messages`` holds the (already translated) message to show for each field; a field
    without an entry gets the generic one under the key ``""``.
    """
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc", ())
        name = str(loc[0]) if loc else ""
        errors.setdefault(name, messages.get(name, messages.get("", "")))
    return errors


def parse_day(value: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date from a form, or None when empty; ValueError when malformed."""
    value = value.strip()
    if not value:
        return None
    return dt.date.fromisoformat(value)
