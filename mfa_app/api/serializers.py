"""What the API says about factors, challenges and a user's MFA: JSON-ready dicts, no secrets.

``pending_response`` is also what ``MFAMiddleware`` answers any JSON request of the site with
while the login is pending, so every endpoint tells a half-signed-in client the same thing.
"""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from .. import errors, login_state, services
from ..factors import get_factor
from ..models import FactorModel, FactorType
from ..policy import EffectivePolicy, policy_for
from .responses import error_response

MFA_REQUIRED = "MFA_REQUIRED"
MFA_ENROLLMENT_REQUIRED = "MFA_ENROLLMENT_REQUIRED"
AUTHENTICATED = "AUTHENTICATED"


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
        "type": services.factor_type_of(device),
        "name": device.name,
        "primary": device.is_primary,
        "destination": device.masked_destination or None,
        "created_at": iso(device.created_at),
        "last_used_at": iso(device.last_used_at),
    }


def enrollable_factors(user: Any, policy: EffectivePolicy) -> list[str]:
    """The factor types ``user`` may add now: the policy allows them, and the factor can."""
    return [t for t in FactorType.values if policy.allows(t) and get_factor(t).can_enroll(user)]


def challenge_json(
    user: Any, challenge_id: Any, expires_at: datetime | float, policy: EffectivePolicy | None
) -> dict[str, Any]:
    """A challenge and the ways ``user`` can answer it, the primary factor's first."""
    policy = policy or policy_for(user)
    methods = services.challenge_methods(user, policy)
    primary = next((d for d in services.active_factors(user, policy) if d.is_primary), None)
    primary_type = services.factor_type_of(primary) if primary is not None else None
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
            "allowed_factors": enrollable_factors(user, policy),
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
    user = login_state.pending_user(request)
    if user is None:
        login_state.drop(request)
        return error_response(errors.ChallengeExpired(), status=401)
    return JsonResponse(pending_body(pending, user), status=401)


def status_body(request: HttpRequest, user: Any) -> dict[str, Any]:
    """A signed-in user's MFA: factors, recovery codes, what they may add, their policy."""
    status = services.mfa_status(user)
    policy = status.policy
    return {
        "status": AUTHENTICATED,
        "enabled": status.enabled,
        "factors": [factor_json(d) for d in status.factors],
        "recovery_codes_remaining": status.recovery_codes_remaining,
        "allowed_factors": enrollable_factors(user, policy),
        "recently_authenticated": login_state.recently_authenticated(request),
        "policy": {
            "mode": policy.requirement,
            "allowed_factors": [t for t in FactorType.values if policy.allows(t)],
            "recovery_codes_enabled": policy.recovery_codes_enabled,
            "trusted_devices_enabled": policy.trusted_devices_enabled,
            "trusted_device_days": policy.trusted_device_days,
        },
    }
