"""Removing factors, staff resets, and re-authentication."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from .. import errors, events, lockout
from ..factors import factor_for_device, registered_factors, second_factors
from ..models import (
    FactorModel,
    RecoveryCodeSet,
    SentCode,
)
from ..policy import policy_for
from .challenges import end_pending_logins
from .status import Kind, active_factors, list_factors
from .trust import revoke_devices

# --- removal and reset ----------------------------------------------------------------------


def remove_factor(user: Any, device: FactorModel, request: HttpRequest | None = None) -> None:
    """Remove one factor; removing the last one also removes the recovery codes.

    Every remembered browser of the user is revoked with it: a factor is removed when it is
    lost or in someone else's hands, and a browser trusted through it must prove itself again.
    """
    policy = policy_for(user)
    others = [d for d in active_factors(user, policy) if d != device]
    if policy.required and not others:
        raise errors.LastFactorRequired()
    factor_type = factor_for_device(device).type
    with transaction.atomic():
        device.delete()
        remaining = list_factors(user)
        if not remaining:
            RecoveryCodeSet.objects.filter(user=user).delete()
        elif device.is_primary:
            type(remaining[0]).objects.filter(pk=remaining[0].pk).update(is_primary=True)
        events.record(Kind.FACTOR_REMOVED, user, request, factor_type=factor_type)
        revoke_devices(user, request=request, reason=Kind.FACTOR_REMOVED)


def rename_factor(user: Any, device: FactorModel, name: str) -> FactorModel:
    """Give one of ``user``'s factors a new label (the user's own words, shown only to them)."""
    name = " ".join(str(name).split())
    max_length = type(device)._meta.get_field("name").max_length
    if not name or len(name) > max_length:
        raise errors.InvalidName(max_length=max_length)
    type(device).objects.filter(pk=device.pk, user=user).update(name=name)
    device.name = name
    return device


def set_primary_factor(user: Any, device: FactorModel) -> FactorModel:
    """Make ``device`` the factor a challenge offers first; no other stays primary."""
    with transaction.atomic():
        for factor in second_factors():
            factor.model.objects.filter(user=user, is_primary=True).update(is_primary=False)
        type(device).objects.filter(pk=device.pk, user=user).update(is_primary=True)
    device.is_primary = True
    return device


def reset_mfa(
    user: Any, actor: Any = None, request: HttpRequest | None = None, *, via: str = ""
) -> None:
    """Remove every factor and recovery code: the user enrolls again at the next login.

    Also ends the user's unfinished logins and revokes their remembered devices. ``actor`` is
    the staff member who asked; ``via`` (e.g. ``"command"``) goes into the audit details.
    """
    with transaction.atomic():
        for factor in registered_factors():
            factor.model.objects.filter(user=user).delete()
        SentCode.objects.filter(user=user).delete()
        end_pending_logins(user)
        events.record(Kind.RESET, user, request, actor=actor, **({"via": via} if via else {}))
        revoke_devices(user, actor=actor, request=request, reason=Kind.RESET)


# --- re-authentication ----------------------------------------------------------------------


def check_identity(user: Any, *, password: str = "", code: str = "") -> bool:
    """Confirm a signed-in user is present: their password, or a code from one of their factors.

    A code counts against the user's MFA lockout like any other answer (``RateLimited``).
    """
    if password:
        return user.check_password(password)
    if code:
        policy = policy_for(user)
        lockout.reserve_attempt(user)
        if any(
            factor.allowed_by(policy) and factor.verify(user, code) is not None
            for factor in dict.fromkeys(factor_for_device(d) for d in active_factors(user, policy))
        ):
            lockout.attempt_succeeded(user)
            return True
    return False
