"""One error shape for every refusal: ``{"error": {"code": ..., "message": ...}}``."""

from .. import errors
from ..replies import PUBLIC_EXTRA, error_body, error_response

__all__ = [
    "PUBLIC_EXTRA",
    "CsrfFailed",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "error_body",
    "error_response",
]


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
