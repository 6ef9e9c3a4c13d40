"""The signed-in user's own factors, recovery codes and remembered devices.

Every verb here needs MFA on for the user (``policy_in_force``); removing a factor and
regenerating recovery codes also need a recent proof of identity (``require_recent_auth``).
"""

from typing import Any

from django.http import HttpRequest

from .. import errors, login_state, services
from ..models import FactorModel
from ..policy import EffectivePolicy, policy_for
from . import signin


def policy_in_force(user: Any) -> EffectivePolicy:
    """The user's policy; ``FactorNotAllowed`` while it has MFA switched off (DISABLED)."""
    policy = policy_for(user)
    if policy.disabled:
        raise errors.FactorNotAllowed()
    return policy


def require_recent_auth(request: HttpRequest) -> None:
    """Refuse a sensitive change unless the user proved who they are just now.

    ``ReauthenticationRequired`` says how: ``reauthenticate_with`` is ``"challenge"`` for a
    user with a factor (a step-up), ``"password"`` for one without.
    """
    if not signin.recently_authenticated(request):
        method = "challenge" if services.active_factors(request.user) else "password"
        raise errors.ReauthenticationRequired(reauthenticate_with=method)


def own_factor(user: Any, factor_type: str, pk: str) -> FactorModel:
    """One of the user's own factors; anyone else's is ``FactorNotFound``."""
    policy_in_force(user)
    return services.get_user_factor(user, factor_type, pk)


def rename(user: Any, device: FactorModel, name: str) -> FactorModel:
    services.rename_factor(user, device, name)
    return device


def make_primary(user: Any, device: FactorModel) -> FactorModel:
    return services.set_primary_factor(user, device)


def remove(request: HttpRequest, factor_type: str, pk: str) -> FactorModel:
    """Remove one of the user's factors and return it (``LastFactorRequired`` under REQUIRED)."""
    require_recent_auth(request)
    device = own_factor(request.user, factor_type, pk)
    services.remove_factor(request.user, device, request)
    login_state.offer_sign_out(request)
    return device


def regenerate_recovery_codes(request: HttpRequest) -> list[str]:
    """A new set of recovery codes, shown once; every earlier code stops working."""
    require_recent_auth(request)
    codes = services.regenerate_recovery_codes(request.user, request)
    login_state.offer_sign_out(request)
    return codes


def forget_devices(request: HttpRequest, device_id: str | None = None) -> int:
    """Forget one remembered browser (``device_id``) or all of them; return how many."""
    return services.revoke_devices(request.user, device_id, request=request)


def sign_out_others(request: HttpRequest) -> None:
    """End every other session of the signed-in user; this one moves to the new epoch.

    No recent proof is asked for: it only takes access away.
    """
    epoch = services.sign_out_other_sessions(request.user, request)
    login_state.set_session_epoch(request, epoch)
    login_state.withdraw_sign_out_offer(request)
