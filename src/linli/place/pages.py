"""HTML pages of the place domain: the tree of places a staff member serves."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli.core.actor import RESIDENT_ADMIN_ROLES
from linli.place import service
from linli.place.models import Place
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, Staff
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

RESIDENT_LINK_KINDS = ("community", "compound", "building", "unit")


@dataclass
class Node:
    """A place with the places under it."""

    place: Place
    children: list[Node] = field(default_factory=list)
    residents_link: bool = False


@router.get("/console/places")
def places(request: Request, db: Db, actor: Staff) -> Response:
    """The communities, compounds, buildings and units under the actor's roles."""
    found = service.under(db, sorted({g.place_path for g in actor.grants}))
    resident_paths = actor.paths_for(RESIDENT_ADMIN_ROLES)
    nodes = {
        p.id: Node(
            p,
            residents_link=p.kind in RESIDENT_LINK_KINDS
            and any(p.path.startswith(path) for path in resident_paths),
        )
        for p in found
    }
    roots: list[Node] = []
    for node in nodes.values():  # ``found`` is ordered by path: parents come first
        parent = nodes.get(node.place.parent_id or 0)
        (parent.children if parent else roots).append(node)
    return view(request, "place/tree.html", {"roots": roots})
