"""Who is acting: an account, its role grants, and the resident it acts for in assisted mode."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = (
    "resident",
    "caregiver",
    "grid_worker",
    "community_staff",
    "property_manager",
    "responder",
    "police_liaison",
    "community_admin",
    "district_admin",
    "auditor",
)
STAFF_ROLES = frozenset(
    {
        "grid_worker",
        "community_staff",
        "property_manager",
        "responder",
        "police_liaison",
        "community_admin",
        "district_admin",
        "auditor",
    }
)
# Roles that may act for a resident who is present (assisted mode).
ASSIST_ROLES = frozenset({"grid_worker", "community_staff", "community_admin", "district_admin"})
# Roles that may see and manage residents of the places they hold.
RESIDENT_ADMIN_ROLES = frozenset(
    {"grid_worker", "community_staff", "community_admin", "district_admin"}
)
# Roles that may grant roles and manage accounts within their places.
ACCOUNT_ADMIN_ROLES = frozenset({"community_admin", "district_admin"})


@dataclass(frozen=True)
class Grant:
    """A role held on a place; it covers the place's whole subtree (``path`` prefix)."""

    role: str
    place_id: int
    place_path: str


@dataclass(frozen=True)
class Actor:
    """The identity behind a request, task or command."""

    account_id: int | None
    username: str = ""
    display_name: str = ""
    resident_id: int | None = None
    grants: tuple[Grant, ...] = ()
    # Assisted mode: a staff member acting for a resident who is present.
    on_behalf_of_resident_id: int | None = None
    via: str = "web"
    session_id: int | None = None
    ip: str | None = None
    roles: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_assisting(self) -> bool:
        return self.on_behalf_of_resident_id is not None

    @property
    def effective_resident_id(self) -> int | None:
        """The resident whose own data this actor is working with."""
        if self.on_behalf_of_resident_id is not None:
            return self.on_behalf_of_resident_id
        return self.resident_id

    def paths_for(self, roles: frozenset[str] | set[str]) -> list[str]:
        """Place path prefixes where the actor holds any of ``roles``."""
        return sorted({g.place_path for g in self.grants if g.role in roles})

    def holds(self, roles: frozenset[str] | set[str], place_path: str) -> bool:
        """Whether one of ``roles`` is granted on ``place_path`` or an ancestor of it."""
        return any(g.role in roles and place_path.startswith(g.place_path) for g in self.grants)


ANONYMOUS = Actor(account_id=None)
SYSTEM = Actor(account_id=None, username="system", via="system")
