"""What the pages confirm after a change, through Django's messages (the site's own display).

Whole sentences per factor: a factor's name dropped into one sentence cannot take the case or
gender another language needs.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from .. import services
from ..factors import get_factor
from ..factors.webauthn import WebAuthn
from ..models import FactorType


def factor_added(request: HttpRequest, factor_type: str, device: Any) -> None:
    destination = {"destination": get_factor(factor_type).masked_destination(device)}
    if factor_type == FactorType.TOTP:
        text = gettext("Authenticator app added: sign-ins will ask for a code from it.")
    elif factor_type == FactorType.WEBAUTHN:
        if WebAuthn.is_passkey(device):
            text = gettext("Passkey “%(name)s” added: you can sign in with it.")
        else:
            text = gettext("Security key “%(name)s” added: you can sign in with it.")
        text %= {"name": device.name}
    elif factor_type == FactorType.SMS:
        text = gettext("Text message added: sign-ins can send a code to %(destination)s.")
        text %= destination
    elif factor_type == FactorType.EMAIL:
        text = gettext("Email added: sign-ins can send a code to %(destination)s.") % destination
    else:
        text = gettext("“%(name)s” added.") % {"name": device.name}
    messages.success(request, text)


def enrollment_postponed(request: HttpRequest, days_left: int) -> None:
    text = ngettext(
        "Two-step verification is postponed: set it up within %(days)d day.",
        "Two-step verification is postponed: set it up within %(days)d days.",
        days_left,
    )
    messages.info(request, text % {"days": days_left})


def signed_in_with_recovery_code(
    request: HttpRequest, user: Any, new_codes: bool, left: int | None = None
) -> None:
    """``left``: the codes left, if the caller counted them."""
    if new_codes:
        text = gettext("You signed in with your last recovery code: save the new ones below.")
    else:
        if left is None:
            left = services.recovery_codes_remaining(user)
        text = ngettext(
            "You signed in with a recovery code: %(count)d recovery code left.",
            "You signed in with a recovery code: %(count)d recovery codes left.",
            left,
        ) % {"count": left}
    messages.info(request, text)


def recovery_codes_regenerated(request: HttpRequest) -> None:
    messages.success(
        request, gettext("New recovery codes generated: the codes you saved before no longer work.")
    )
