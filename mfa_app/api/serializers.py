"""What the API says about a signed-in user's MFA; the rest of its JSON is ``mfa_app.replies``."""

from typing import Any

from django.http import HttpRequest

from .. import services
from ..flows import signin
from ..flows.enrollment import enrollable_factors
from ..models import FactorType
from ..replies import (
    AUTHENTICATED,
    MFA_ENROLLMENT_REQUIRED,
    MFA_REQUIRED,
    challenge_json,
    factor_json,
    iso,
    pending_body,
    pending_response,
)

__all__ = [
    "AUTHENTICATED",
    "MFA_ENROLLMENT_REQUIRED",
    "MFA_REQUIRED",
    "challenge_json",
    "factor_json",
    "iso",
    "pending_body",
    "pending_response",
    "status_body",
]


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
        "recently_authenticated": signin.recently_authenticated(request),
        "policy": {
            "mode": policy.requirement,
            "allowed_factors": [t for t in FactorType.values if policy.allows(t)],
            "recovery_codes_enabled": policy.recovery_codes_enabled,
            "trusted_devices_enabled": policy.trusted_devices_enabled,
            "trusted_device_days": policy.trusted_device_days,
        },
    }
