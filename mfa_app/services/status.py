"""What a user has and what a login needs: factors, status, the login requirement."""

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .. import events
from ..conf import app_settings
from ..factors import get_factor, registered_factors
from ..factors.recovery import Recovery
from ..models import (
    FactorModel,
)
from ..policy import EffectivePolicy, policy_for

Kind = events.Kind
CHALLENGE = "challenge"
ENROLL = "enroll"
RECOVERY = Recovery.type


# --- status ---------------------------------------------------------------------------------


def list_factors(user: Any) -> list[FactorModel]:
    """Every confirmed factor the user holds (recovery codes excluded), primary first."""
    devices = [
        device
        for factor in registered_factors()
        if not factor.is_fallback
        for device in factor.devices(user)
    ]
    return sorted(devices, key=lambda d: (not d.is_primary, d.created_at or timezone.now()))


def active_factors(user: Any, policy: EffectivePolicy | None = None) -> list[FactorModel]:
    """The factors the effective policy lets the user sign in with."""
    policy = policy or policy_for(user)
    return [d for d in list_factors(user) if policy.allows(factor_type_of(d))]


def factor_type_of(device: FactorModel) -> str:
    return next(f.type for f in registered_factors() if isinstance(device, f.model))


def recovery_codes_remaining(user: Any) -> int:
    return get_factor(RECOVERY).remaining(user)


@dataclass(frozen=True)
class MFAStatus:
    enabled: bool
    factors: list[FactorModel]
    recovery_codes_remaining: int
    policy: EffectivePolicy


def mfa_status(user: Any) -> MFAStatus:
    policy = policy_for(user)
    factors = list_factors(user)
    return MFAStatus(
        enabled=not policy.disabled and any(policy.allows(factor_type_of(d)) for d in factors),
        factors=factors,
        recovery_codes_remaining=recovery_codes_remaining(user),
        policy=policy,
    )


def login_requirement(user: Any, backend: str = "") -> str | None:
    """Say what a fresh login of ``user`` needs: ``CHALLENGE``, ``ENROLL`` or nothing."""
    if backend and backend in app_settings.EXEMPT_BACKENDS:
        return None
    policy = policy_for(user)
    if policy.disabled:
        return None
    if active_factors(user, policy):
        return CHALLENGE
    if policy.required:
        return ENROLL
    return None


def challenge_factor_types(user: Any, policy: EffectivePolicy | None = None) -> list[str]:
    """Factor types the user can answer a challenge with, primary first."""
    policy = policy or policy_for(user)
    types = list(dict.fromkeys(factor_type_of(d) for d in active_factors(user, policy)))
    if types and policy.recovery_codes_enabled and get_factor(RECOVERY).devices(user).exists():
        types.append(RECOVERY)
    return types
