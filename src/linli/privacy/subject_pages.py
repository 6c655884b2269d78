"""HTML side of data-subject rights: the processor download, my requests, the staff queue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.core import ratelimit
from linli.core.i18n import gettext as _
from linli.core.time import utc_now
from linli.privacy import subject
from linli.privacy.subject_api import download
from linli.web import shell
from linli.web.deps import CsrfChecked, CurrentActor, Db, LoggedIn, PathId, Staff
from linli.web.ratelimit import enforce
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

KIND_LABELS = {
    "access": shell.N_("See my data"),
    "export": shell.N_("Download my data"),
    "portability": shell.N_("Data for an organisation"),
    "correction": shell.N_("Correct my data"),
    "deletion": shell.N_("Delete my account"),
}
STATUS_LABELS = {
    "open": shell.N_("Waiting"),
    "done": shell.N_("Done"),
    "refused": shell.N_("Refused"),
}
FIELD_LABELS = {
    "name": shell.N_("Name"),
    "id_number": shell.N_("ID number"),
    "date_of_birth": shell.N_("Date of birth"),
    "household_id": shell.N_("Household"),
}


def _labels() -> dict[str, dict[str, str]]:
    return {
        "kind": {k: _(v) for k, v in KIND_LABELS.items()},
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
        "field": {k: _(v) for k, v in FIELD_LABELS.items()},
    }


@router.get("/privacy/exports/{token}", name="redeem_export")
def redeem_export(
    db: Db,
    actor: CurrentActor,
    token: Annotated[str, Path(min_length=16, max_length=100)],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The download a resident made for a processor: once; then, or when expired, 410."""
    document = subject.redeem_link(db, actor, token)
    db.commit()
    return download(document, format)


@router.get("/me/data/export")
def export_page_download(
    db: Db, actor: LoggedIn, format: Annotated[Literal["json", "csv"], Query()] = "json"
) -> Response:
    """ "Download my data" on /me/data."""
    enforce(db, actor, ratelimit.EXPORT_ACCOUNT)
    document = subject.record_export(db, actor, subject.own_resident(actor))
    db.commit()
    return download(document, format)


@router.get("/me/requests")
def my_requests(request: Request, db: Db, actor: LoggedIn) -> Response:
    """My data requests, the processor links I made, and the forms to make new ones."""
    return view(
        request,
        "privacy/subject_requests.html",
        {
            "requests": subject.my_requests(db, actor),
            "links": subject.links_of(db, actor),
            "labels": _labels(),
            "new_token": request.query_params.get("made", ""),
        },
    )


@router.post("/me/requests/corrections")
def file_correction(
    db: Db,
    actor: LoggedIn,
    field: Annotated[str, Form(max_length=32)],
    new_value: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=500)],
) -> Response:
    subject.file_correction(db, actor, field=field, new_value=new_value, reason=reason)
    db.commit()
    return RedirectResponse("/me/requests", status_code=303)


@router.post("/me/requests/links")
def create_link(
    request: Request,
    db: Db,
    actor: LoggedIn,
    processor: Annotated[str, Form(max_length=100)],
    hours: Annotated[int, Form(ge=1, le=168)] = subject.LINK_HOURS,
) -> Response:
    enforce(db, actor, ratelimit.EXPORT_ACCOUNT)
    _link, token = subject.create_link(db, actor, processor=processor, hours=hours)
    db.commit()
    url = str(request.url_for("redeem_export", token=token))
    return view(
        request,
        "privacy/subject_link.html",
        {"url": url, "processor": processor},
        status_code=201,
    )


@router.post("/me/requests/links/{link_id}/revoke")
def revoke_link(db: Db, actor: LoggedIn, link_id: PathId) -> Response:
    subject.revoke_link(db, actor, link_id)
    db.commit()
    return RedirectResponse("/me/requests", status_code=303)


@router.get("/me/deletion")
def deletion_page(request: Request, actor: LoggedIn) -> Response:
    """Step 1 of 2: what deleting means, and the password re-check."""
    subject.own_resident(actor)
    return view(request, "privacy/subject_delete.html", {"error": ""})


@router.post("/me/deletion")
def delete_me(
    request: Request,
    db: Db,
    actor: LoggedIn,
    password: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Step 2 of 2: re-check the password and delete."""
    if confirm != "yes":
        return view(
            request,
            "privacy/subject_delete.html",
            {"error": _("Tick the box to confirm.")},
            status_code=422,
        )
    subject.delete_me(db, actor, password=password)
    db.commit()
    response = RedirectResponse("/", status_code=303)
    return response


@router.get("/console/privacy-requests")
def staff_queue(request: Request, db: Db, actor: Staff) -> Response:
    """Requests of my communities, overdue first."""
    return view(
        request,
        "privacy/subject_queue.html",
        {"requests": subject.queue(db, actor), "labels": _labels(), "now": utc_now()},
    )


@router.post("/console/privacy-requests/{request_id}/approve")
def approve(db: Db, actor: Staff, request_id: PathId) -> Response:
    subject.approve(db, actor, request_id)
    db.commit()
    return RedirectResponse("/console/privacy-requests", status_code=303)


@router.post("/console/privacy-requests/{request_id}/refuse")
def refuse(
    db: Db, actor: Staff, request_id: PathId, reason: Annotated[str, Form(max_length=500)]
) -> Response:
    subject.refuse(db, actor, request_id, reason=reason)
    db.commit()
    return RedirectResponse("/console/privacy-requests", status_code=303)


@router.post("/console/privacy-requests/erase")
def erase_resident(
    db: Db,
    actor: Staff,
    resident_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Form(max_length=500)],
) -> Response:
    """Delete the data of a resident who moved away (staff of their community, with a reason)."""
    subject.delete_by_staff(db, actor, resident_id, reason=reason)
    db.commit()
    return RedirectResponse("/console/privacy-requests", status_code=303)
