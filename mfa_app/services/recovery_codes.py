"""Recovery codes: the first set after enrollment, and regeneration."""

from typing import Any

from django.http import HttpRequest

from .. import errors, events
from ..factors import fallback_factor
from ..models import (
    RecoveryCodeSet,
)
from ..policy import EffectivePolicy, policy_for
from .status import Kind

# --- recovery codes -------------------------------------------------------------------------


def recovery_codes_after_enrollment(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Generate the first set of recovery codes, if the policy wants them and none exist."""
    policy = policy_for(user)
    if (
        not fallback_factor().allowed_by(policy)
        or RecoveryCodeSet.objects.filter(user=user).exists()
    ):
        return []
    return _replace_recovery_codes(user, request, policy)


def regenerate_recovery_codes(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes; every earlier code stops working."""
    policy = policy_for(user)
    if not fallback_factor().allowed_by(policy):
        raise errors.RecoveryCodesDisabled()
    return _replace_recovery_codes(user, request, policy)


def _replace_recovery_codes(
    user: Any, request: HttpRequest | None, policy: EffectivePolicy | None = None
) -> list[str]:
    policy = policy or policy_for(user)
    codes = fallback_factor().replace_codes(user, policy.recovery_codes_count)
    events.record(Kind.RECOVERY_CODES_GENERATED, user, request, count=len(codes))
    return codes
