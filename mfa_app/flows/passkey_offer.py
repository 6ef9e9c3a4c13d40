"""After a password sign-in, offer a user without a passkey to create one, once.

The sign-in notes the offer in the session (``after_password_sign_in``); the middleware sends
the next page a person opens to the offer page (``due``); "Not now" (``decline``) is kept on
the user's MFA state for ``MFA_PASSKEY_OFFER_SNOOZE_DAYS``, so no browser asks again until then.
A passkey sign-in, a pending login and an exempt (SSO) backend never get the offer.
"""

from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from .. import clock, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..models import UserState, WebAuthnCredential
from ..policy import policy_for

WEBAUTHN = "WEBAUTHN"


def should_offer(user: Any) -> bool:
    """Whether ``user`` may be offered a passkey now: allowed, none yet, not declined lately."""
    if not app_settings.PASSKEY_OFFER or not getattr(user, "is_active", False):
        return False
    if not get_factor(WEBAUTHN).allowed_by(policy_for(user)):
        return False
    if WebAuthnCredential.objects.filter(user=user).exists():
        return False
    declined = (
        UserState.objects.filter(user=user).values_list("passkey_offer_declined_at", flat=True)
    ).first()
    snooze = timedelta(days=app_settings.PASSKEY_OFFER_SNOOZE_DAYS)
    return declined is None or clock.now() - declined >= snooze


def after_password_sign_in(request: HttpRequest, user: Any, backend: str | None) -> None:
    """Note the offer for this session if ``user`` should get it (called once signed in)."""
    if backend in app_settings.EXEMPT_BACKENDS:
        return
    if should_offer(user):
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
