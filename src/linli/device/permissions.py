"""Who may see and manage which devices."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from linli.core.actor import Actor
from linli.device.models import Device, DeviceProfile
from linli.place import service as place_service

DEVICE_ADMIN_ROLES = frozenset({"property_manager", "community_admin", "district_admin"})
DEVICE_VIEW_ROLES = DEVICE_ADMIN_ROLES | frozenset(
    {"community_staff", "grid_worker", "responder", "auditor"}
)
# Devices that read one household or one person: never published, whatever their "public"
# flag says (open data without re-identification; see docs/privacy.md, "Open data").
NEVER_PUBLIC_PROFILES = frozenset({"wearable", "electricity_meter"})


def can_manage(actor: Actor, place_path: str) -> bool:
    """Whether the actor may register, disable or re-key devices at this place."""
    return actor.holds(DEVICE_ADMIN_ROLES, place_path)


def can_view(actor: Actor, place_path: str) -> bool:
    """Whether the actor may see devices at this place and their readings."""
    return actor.holds(DEVICE_VIEW_ROLES, place_path)


def visible(actor: Actor, device: type[Device] = Device) -> ColumnElement[bool]:
    """SQL condition on ``device`` (the class or an alias): published, or in a place viewed."""
    paths = actor.paths_for(DEVICE_VIEW_ROLES)
    personal = select(DeviceProfile.id).where(DeviceProfile.code.in_(NEVER_PUBLIC_PROFILES))
    published = and_(device.is_public.is_(True), device.profile_id.not_in(personal))
    if not paths:
        return published
    return or_(published, device.place_id.in_(place_service.ids_under(paths)))


def visible_devices(actor: Actor) -> Select[Device]:
    """Devices the actor may list: those under the places where it holds a viewing role."""
    paths = actor.paths_for(DEVICE_VIEW_ROLES)
    stmt = select(Device)
    if not paths:
        return stmt.where(false())
    return stmt.where(Device.place_id.in_(place_service.ids_under(paths)))


def may_view_any(actor: Actor) -> bool:
    """Whether the actor holds a device-viewing role anywhere (gets the device pages)."""
    return bool(actor.roles & DEVICE_VIEW_ROLES)


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor may register devices somewhere."""
    return bool(actor.roles & DEVICE_ADMIN_ROLES)
