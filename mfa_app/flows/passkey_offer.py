"""After a password sign-in, offer a user without a passkey to create one, once.

The sign-in notes the offer in the session (``after_password_sign_in``); the middleware sends
the next page a person opens to the offer page (``due``); "Not now" (``decline``) is kept on
the user's MFA state for ``MFA_PASSKEY_OFFER_SNOOZE_DAYS``, so no browser asks again until then.
A passkey sign-in, a pending login and an exempt (SSO) backend never get the offer.
"""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpRequest

from .. import clock, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..models import UserState, WebAuthnCredential
from ..policy import EffectivePolicy, policy_for

WEBAUTHN = "WEBAUTHN"


def should_offer(user: Any, policy: EffectivePolicy | None = None) -> bool:
    """Whether ``user`` may be offered a passkey now: allowed, none yet, not declined lately.

    ``policy``: the user's, if the caller has it.
    """
    if not app_settings.PASSKEY_OFFER or not getattr(user, "is_active", False):
        return False
    if not get_factor(WEBAUTHN).allowed_by(policy or policy_for(user)):
        return False
    # One statement: whether the user has a passkey, and when they last said "Not now".
    has_passkey, declined = (
        get_user_model()
        ._base_manager.filter(pk=user.pk)
        .annotate(
            has_passkey=Exists(WebAuthnCredential.objects.filter(user=OuterRef("pk"))),
            declined=Subquery(
                UserState.objects.filter(user=OuterRef("pk")).values("passkey_offer_declined_at")
            ),
        )
        .values_list("has_passkey", "declined")
        .get()
    )
    if has_passkey:
        return False
    snooze = timedelta(days=app_settings.PASSKEY_OFFER_SNOOZE_DAYS)
    return declined is None or clock.now() - declined >= snooze


def after_password_sign_in(
    request: HttpRequest, user: Any, backend: str | None, policy: EffectivePolicy | None = None
) -> None:
    """Note the offer for this session if ``user`` should get it (called once signed in)."""
    if backend in app_settings.EXEMPT_BACKENDS:
        return
    if should_offer(user, policy):
        login_state.offer_passkey(request, user)


def due(request: HttpRequest) -> bool:
    """Whether this session owes its signed-in user the offer (reads the session only)."""
    return login_state.passkey_offer_due(request)


def shown(request: HttpRequest) -> None:
    """The offer page was shown: not again in this session, whatever the answer."""
    login_state.withdraw_passkey_offer(request)


def decline(request: HttpRequest, user: Any) -> None:
    """ "Not now": remembered on the user, so no browser asks again for the snooze period."""
    login_state.withdraw_passkey_offer(request)
    state = services.user_state(user)
    state.passkey_offer_declined_at = clock.now()
    state.save(update_fields=["passkey_offer_declined_at"])
