"""django-otp's device API for mfa_app's factors: ``verify_token`` and ``generate_challenge``.

django-otp's tools (``match_token``, ``verify_token``, ``OTPAdminSite``'s login form, any
``OTPTokenForm``) call these on a factor model. Each call gets what mfa_app's own challenge
page gives an answer (services/challenges.py): only a factor the user's policy lets them sign
in with, the attempt counted by the lockout before the code is checked, the code spent by a
conditional UPDATE so it works once, and the audit events. A refusal is ``False``, never an
exception: django-otp callers do not expect mfa_app's errors.

There is no request here, so the per-IP limit on answers does not apply, and codes are sent
without the site's domain for browser autofill.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from django_otp.models import VerifyNotAllowed

from . import errors, events, lockout
from .factors import Factor
from .factors.base import factor_for_device
from .factors.recovery import Recovery
from .models import FactorModel, UserState
from .services.recovery_codes import recovery_code_spent
from .services.status import challenge_factor_types, recovery_codes_remaining

Kind = events.Kind
VIA = "django-otp"


def usable(device: FactorModel, factor: Factor) -> bool:
    """Whether ``device`` may sign its user in now, as the challenge page would offer it.

    Unconfirmed factors are out (django-otp's ``verify_token`` loads any device by its
    persistent id); so is a type the effective policy does not allow, everything under a
    DISABLED policy, and recovery codes where the policy turned them off.
    """
    return device.confirmed and factor.type in challenge_factor_types(device.user)


def verify_is_allowed(device: FactorModel) -> tuple[bool, dict[str, Any] | None]:
    """django-otp's ``verify_is_allowed``: not for a factor the policy refuses, nor while locked."""
    if not usable(device, factor_for_device(device)):
        return False, {"error_message": str(errors.MESSAGES["factor_not_allowed"])}
    until = lockout.locked_until(device.user)
    if until is None:
        return True, None
    state = UserState.objects.get(user=device.user)
    return False, {
        "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
        "failure_count": state.failed_attempts,
        "locked_until": until,
        "error_message": lockout.locked_error(until).message,
    }


def verify_token(device: FactorModel, token: Any) -> bool:
    """django-otp's ``verify_token``: ``True`` once per valid code of ``device``."""
    factor = factor_for_device(device)
    token = str(token)
    if not usable(device, factor) or not factor.could_answer(device, token):
        # Not an answer to this device (match_token offers every token to every device).
        return False
    user = device.user
    try:
        lockout.reserve_attempt(user)
    except errors.MFAError:
        return False
    try:
        # A savepoint: what a failed check did is undone, not the caller's transaction.
        with transaction.atomic():
            verified = factor.verify_device(device, token)
            if verified and factor.type == Recovery.type:
                recovery_code_spent(user)
    except errors.MFAError:
        verified = False
    if not verified:
        events.record(Kind.FAILED, user, factor_type=factor.type, via=VIA)
        return False
    lockout.attempt_succeeded(user)
    events.record(Kind.VERIFIED, user, factor_type=factor.type, via=VIA)
    if factor.type == Recovery.type:
        remaining = recovery_codes_remaining(user)
        events.record(
            Kind.RECOVERY_CODE_USED, user, factor_type=factor.type, remaining=remaining, via=VIA
        )
    return True


def generate_challenge(device: FactorModel) -> str:
    """django-otp's ``generate_challenge`` for SMS and email: send a code, say where or why not.

    The send goes through the factor's rate limits; a refusal comes back as the message, as
    django-otp's email plugin returns its cooldown message, so forms show it to the user.
    """
    factor = factor_for_device(device)
    if not usable(device, factor):
        return str(errors.MESSAGES["factor_not_allowed"])
    try:
        factor.send(device.user, factor.destination(device), None, device=device, otp=True)
    except errors.MFAError as exc:
        return exc.message
    return gettext("sent to %(destination)s") % {"destination": device.masked_destination}
