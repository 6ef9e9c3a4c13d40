"""What a user has: factors, MFA status, and the ways to answer a challenge."""

import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .. import errors, events
from ..factors import factor_for_device, get_factor, registered_factors
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
    """The factor type of a factor model instance: ``"TOTP"``, ``"WEBAUTHN"``, ``"SMS"``..."""
    return factor_for_device(device).type


def get_user_factor(user: Any, factor_type: str, pk: Any) -> FactorModel:
    """Find one of ``user``'s own factors; anything else (another user's, a typo) is not found."""
    try:
        factor = get_factor(factor_type)
    except KeyError as exc:
        raise errors.FactorNotFound() from exc
    device = None
    if not factor.is_fallback and is_id(pk):
        device = factor.devices(user).filter(pk=int(pk)).first()
    if device is None:
        raise errors.FactorNotFound()
    return device


def is_id(value: Any) -> bool:
    """ASCII digits that fit a database id (``str.isdigit`` also passes superscripts)."""
    return re.fullmatch(r"[0-9]{1,18}", str(value)) is not None


def recovery_codes_remaining(user: Any) -> int:
    """How many of the user's recovery codes are still unused (0 without any)."""
    return get_factor(RECOVERY).remaining(user)


@dataclass(frozen=True)
class MFAStatus:
    """What ``mfa_status`` returns."""

    enabled: bool
    factors: list[FactorModel]
    recovery_codes_remaining: int
    policy: EffectivePolicy


def mfa_status(user: Any) -> MFAStatus:
    """Whether MFA is on for ``user``, their factors, recovery codes left and their policy.

    ``enabled``: the policy is not DISABLED and allows one of the factors the user holds.
    """
    policy = policy_for(user)
    factors = list_factors(user)
    return MFAStatus(
        enabled=policy.mfa_enabled(factor_type_of(d) for d in factors),
        factors=factors,
        recovery_codes_remaining=recovery_codes_remaining(user),
        policy=policy,
    )


@dataclass(frozen=True)
class ChallengeMethod:
    """One way to answer a challenge: a factor type, or one device of a per-device type (SMS)."""

    factor_type: str
    device: FactorModel | None = None

    @property
    def device_id(self) -> str:
        return str(self.device.pk) if self.device is not None else ""

    @property
    def destination(self) -> str:
        return self.device.masked_destination if self.device is not None else ""


def challenge_methods(user: Any, policy: EffectivePolicy | None = None) -> list[ChallengeMethod]:
    """The ways the user can answer a challenge, the primary factor's first, recovery codes last."""
    policy = policy or policy_for(user)
    methods: dict[tuple[str, Any], ChallengeMethod] = {}
    for device in active_factors(user, policy):
        factor_type = factor_type_of(device)
        if get_factor(factor_type).per_device:
            methods[factor_type, device.pk] = ChallengeMethod(factor_type, device)
        else:
            methods.setdefault((factor_type, None), ChallengeMethod(factor_type))
    if methods and policy.recovery_codes_enabled and get_factor(RECOVERY).devices(user).exists():
        methods[RECOVERY, None] = ChallengeMethod(RECOVERY)
    return list(methods.values())


def challenge_factor_types(user: Any, policy: EffectivePolicy | None = None) -> list[str]:
    """Factor types the user can answer a challenge with, primary first."""
    return list(dict.fromkeys(m.factor_type for m in challenge_methods(user, policy)))
