"""One error shape for every refusal: ``{"error": {"code": ..., "message": ...}}``."""

from .. import errors
from ..replies import PUBLIC_EXTRA, error_body, error_response

__all__ = [
    "PUBLIC_EXTRA",
    "BypassNotFound",
    "CsrfFailed",
    "InvalidPolicy",
    "InvalidQuery",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "TenantNotFound",
    "UserNotFound",
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


# --- the staff API's ------------------------------------------------------------------------


class PermissionDenied(errors.MFAError):
    """Not staff, or without the Django permission the operation needs."""

    code = "permission_denied"
    status = 403


class UserNotFound(errors.MFAError):
    code = "user_not_found"
    status = 404


class TenantNotFound(errors.MFAError):
    code = "tenant_not_found"
    status = 404


class BypassNotFound(errors.MFAError):
    code = "bypass_not_found"
    status = 404


class InvalidPolicy(errors.MFAError):
    """A setting the policy validation refused (``field`` names it): nothing was saved."""

    code = "invalid_policy"


class InvalidQuery(errors.MFAError):
    """A query parameter (a filter, the cursor, the page size) is malformed (``field``)."""

    code = "invalid_query"
