"""Removing factors, staff resets, and re-authentication."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from .. import errors, events
from ..factors import get_factor, registered_factors
from ..models import (
    FactorModel,
    RecoveryCodeSet,
)
from ..policy import policy_for
from .challenges import end_pending_logins
from .status import Kind, active_factors, factor_type_of, list_factors

# --- removal and reset ----------------------------------------------------------------------


def get_user_factor(user: Any, factor_type: str, pk: Any) -> FactorModel:
    """Find one of ``user``'s own factors; anything else (another user's, a typo) is not found."""
    try:
        factor = get_factor(factor_type)
    except KeyError as exc:
        raise errors.FactorNotFound() from exc
    device = None
    if not factor.is_fallback and str(pk).isdigit():
        device = factor.devices(user).filter(pk=int(pk)).first()
    if device is None:
        raise errors.FactorNotFound()
    return device


def remove_factor(user: Any, device: FactorModel, request: HttpRequest | None = None) -> None:
    """Remove one factor; removing the last one also removes the recovery codes."""
    policy = policy_for(user)
    others = [d for d in active_factors(user, policy) if d != device]
    if policy.required and not others:
        raise errors.LastFactorRequired()
    factor_type = factor_type_of(device)
    with transaction.atomic():
        device.delete()
        remaining = list_factors(user)
        if not remaining:
            RecoveryCodeSet.objects.filter(user=user).delete()
        elif device.is_primary:
            type(remaining[0]).objects.filter(pk=remaining[0].pk).update(is_primary=True)
    events.record(Kind.FACTOR_REMOVED, user, request, factor_type=factor_type)


def reset_mfa(user: Any, actor: Any = None, request: HttpRequest | None = None) -> None:
    """Remove every factor and recovery code: the user enrolls again at the next login."""
    with transaction.atomic():
        for factor in registered_factors():
            factor.model.objects.filter(user=user).delete()
        end_pending_logins(user)
    events.record(Kind.RESET, user, request, actor=actor)


# --- re-authentication ----------------------------------------------------------------------


def check_identity(user: Any, *, password: str = "", code: str = "") -> bool:
    """Confirm a signed-in user is present: their password, or a code from one of their factors."""
    if password:
        return user.check_password(password)
    if code:
        policy = policy_for(user)
        return any(
            policy.allows(t) and get_factor(t).verify(user, code) is not None
            for t in dict.fromkeys(factor_type_of(d) for d in active_factors(user, policy))
        )
    return False
