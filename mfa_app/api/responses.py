"""One error shape for every refusal: ``{"error": {"code": ..., "message": ...}}``."""

from datetime import datetime
from typing import Any

from django.http import JsonResponse

from .. import errors

# What ``MFAError.extra`` may show a client; the rest (``reason``...) is for the audit log.
PUBLIC_EXTRA = (
    "attempts_left",
    "retry_after",
    "locked_until",
    "max_length",
    "field",
    "reauthenticate_with",
)


class InvalidRequest(errors.MFAError):
    """Malformed JSON, a missing field or one of the wrong type: nothing was done."""

    code = "invalid_request"


class NotAuthenticated(errors.MFAError):
    code = "not_authenticated"
    status = 401


class CsrfFailed(errors.MFAError):
    code = "csrf_failed"
    status = 403


class MethodNotAllowed(errors.MFAError):
    code = "method_not_allowed"
    status = 405


class NotFound(errors.MFAError):
    code = "not_found"
    status = 404


def error_body(exc: errors.MFAError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": str(exc.message)}
    for key in PUBLIC_EXTRA:
        value = exc.extra.get(key)
        if value is not None:
            body[key] = value.isoformat() if isinstance(value, datetime) else value
    return body


def error_response(
    exc: errors.MFAError, *, status: int | None = None, **fields: Any
) -> JsonResponse:
    """``exc`` in the error shape, with its status; ``fields`` go beside ``error``."""
    status = status or exc.status
    response = JsonResponse({**fields, "error": error_body(exc)}, status=status)
    retry_after = exc.extra.get("retry_after")
    if status == 429 and isinstance(retry_after, int):
        response["Retry-After"] = str(max(1, retry_after))
    return response
