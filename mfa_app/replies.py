"""The JSON a client is told, wherever it asks: the error shape, and a pending login's status.

The JSON API answers with these, and so does ``MFAMiddleware`` when a pending login sends a JSON
request to any page of the site, so every endpoint tells a half-signed-in client the same thing.
"""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from . import errors, login_state, services
from .factors import factor_for_device
from .flows import enrollment, signin
from .models import FactorModel
from .policy import EffectivePolicy, policy_for

MFA_REQUIRED = "MFA_REQUIRED"
MFA_ENROLLMENT_REQUIRED = "MFA_ENROLLMENT_REQUIRED"
AUTHENTICATED = "AUTHENTICATED"
# What ``MFAError.extra`` may show a client; the rest (``reason``...) is for the audit log.
PUBLIC_EXTRA = (
    "attempts_left",
    "retry_after",
    "locked_until",
    "max_length",
    "field",
    "reauthenticate_with",
    "url",
)
# Statuses whose ``retry_after`` is sent as the Retry-After header too.
RETRY_STATUSES = (429, 503)


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
    if status in RETRY_STATUSES and isinstance(retry_after, int):
        response["Retry-After"] = str(max(1, retry_after))
    return response


def iso(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, tz=UTC)
    return value.isoformat()


def factor_json(device: FactorModel) -> dict[str, Any]:
    """One of the user's factors, as they may see it: never its secret."""
    return {
        "id": str(device.pk),
        "type": factor_for_device(device).type,
        "name": device.name,
        "primary": device.is_primary,
        "destination": device.masked_destination or None,
        "created_at": iso(device.created_at),
        "last_used_at": iso(device.last_used_at),
    }


def challenge_json(
    user: Any, challenge_id: Any, expires_at: datetime | float, policy: EffectivePolicy | None
) -> dict[str, Any]:
    """A challenge and the ways ``user`` can answer it, the primary factor's first."""
    policy = policy or policy_for(user)
    methods = services.challenge_methods(user, policy)
    primary = next((d for d in services.active_factors(user, policy) if d.is_primary), None)
    primary_type = factor_for_device(primary).type if primary is not None else None
    factors = []
    for method in methods:
        if method.device is not None:
            factors.append(
                {
                    "type": method.factor_type,
                    "device_id": method.device_id,
                    "destination": method.destination or None,
                    "primary": method.device.is_primary,
                }
            )
        else:
            factors.append(
                {"type": method.factor_type, "primary": method.factor_type == primary_type}
            )
    return {"id": str(challenge_id), "expires_at": iso(expires_at), "factors": factors}


def pending_body(pending: login_state.PendingLogin, user: Any) -> dict[str, Any]:
    """The status of a live pending login: what it must do before it is signed in."""
    policy = policy_for(user)
    if pending.reason == login_state.ENROLL:
        return {
            "status": MFA_ENROLLMENT_REQUIRED,
            "url": reverse("mfa_app:enroll"),
            "allowed_factors": enrollment.enrollable_factors(user, policy),
            "expires_at": iso(pending.expires_at),
            "grace_days_left": services.grace_days_left(user, policy),
        }
    return {
        "status": MFA_REQUIRED,
        "url": reverse("mfa_app:challenge"),
        "challenge": challenge_json(user, pending.challenge_id, pending.expires_at, policy),
    }


def pending_response(request: HttpRequest) -> JsonResponse | None:
    """The 401 for a JSON request of a pending login, or ``None`` if the session has none.

    A pending login that ended (it expired, the password changed) is dropped: the client is
    told to sign in again.
    """
    pending = login_state.get_pending(request)
    if pending is None:
        return None
    user = signin.pending_user(request)
    if user is None:
        login_state.drop(request)
        response = error_response(errors.ChallengeExpired(), status=401)
    else:
        response = JsonResponse(pending_body(pending, user), status=401)
    # Like every API answer (the middleware sends this one on any path): about one sign-in.
    response["Cache-Control"] = "no-store"
    return response
