"""Expected failures: each carries an HTTP status and a message a person can act on."""

from __future__ import annotations

from typing import Any


class LinliError(Exception):
    """Base of every expected failure."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class ValidationFailed(LinliError):
    """Input that cannot be accepted as given."""

    status_code = 422
    code = "validation_failed"


class NotAuthenticated(LinliError):
    """The request carries no valid login."""

    status_code = 401
    code = "not_authenticated"


class PermissionDenied(LinliError):
    """The actor may not do this here."""

    status_code = 403
    code = "permission_denied"


class NotFound(LinliError):
    """Nothing of that kind visible to the actor."""

    status_code = 404
    code = "not_found"


class Conflict(LinliError):
    """The request clashes with what is stored."""

    status_code = 409
    code = "conflict"


class TooManyRequests(LinliError):
    """Too many attempts; try again later."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, detail={"retry_after": retry_after})
        self.retry_after = retry_after


class CsrfFailed(LinliError):
    """A form or cookie-authenticated request without a valid anti-forgery token."""

    status_code = 403
    code = "csrf_failed"
