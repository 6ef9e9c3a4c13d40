"""Adding factors: TOTP, WebAuthn, SMS and email enrollment; passkey sign-in."""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from .. import errors, events
from ..factors import Factor, get_factor
from ..factors import webauthn as webauthn_factor
from ..factors.codes import CodeFactor
from ..factors.totp import TOTP, TOTPSetup, generate_secret
from ..models import FactorModel, TOTPFactor, WebAuthnCredential
from ..policy import policy_for
from .status import Kind

__all__ = [
    "TOTPSetup",
    "begin_enrollment",
    "enroll",
    "enroll_code_factor",
    "enroll_totp",
    "enroll_webauthn",
    "new_totp_secret",
    "passkey_login_options",
    "send_enrollment_code",
    "totp_setup",
    "verify_passkey_login",
    "webauthn_registration_options",
]

# --- enrollment: any factor -----------------------------------------------------------------


def begin_enrollment(
    user: Any, factor_type: str, request: HttpRequest | None = None, **details: Any
) -> Any:
    """Offer ``user`` a new factor of ``factor_type`` (``Factor.begin_enrollment``)."""
    return _enrollable(factor_type).begin_enrollment(user, request, **details)


def enroll(
    user: Any,
    factor_type: str,
    answer: str,
    request: HttpRequest | None = None,
    *,
    name: str = "",
    then: Callable[[], None] | None = None,
    **state: Any,
) -> FactorModel:
    """Save a factor of ``factor_type`` once ``answer`` confirms the offer (``state``)."""
    return _enrollable(factor_type).confirm_enrollment(
        user, answer, request, name=name, then=then, **state
    )


def _enrollable(factor_type: str) -> Factor:
    try:
        factor = get_factor(factor_type)
    except KeyError as exc:
        raise errors.FactorNotAllowed() from exc
    if factor.is_fallback:
        raise errors.FactorNotAllowed()
    return factor


# --- enrollment: the documented functions of each factor ------------------------------------


def totp_setup(user: Any, secret: str, request: HttpRequest | None = None) -> TOTPSetup:
    """Describe a not-yet-confirmed TOTP secret: its ``otpauth://`` URI and QR code."""
    return get_factor(TOTP.type).setup(user, secret, request)


def new_totp_secret() -> str:
    """A new random base32 TOTP secret (keep it server-side until ``enroll_totp``)."""
    return generate_secret()


def enroll_totp(
    user: Any, secret: str, code: str, request: HttpRequest | None = None, name: str = ""
) -> TOTPFactor:
    """Save a TOTP factor once ``code`` proves the user's app holds ``secret``."""
    return enroll(user, TOTP.type, code, request, name=name, secret=secret)


def send_enrollment_code(
    user: Any, factor_type: str, destination: Any, request: HttpRequest | None = None
) -> str:
    """Send a code to a number (SMS) or the account's address (email) the user wants to add.

    Returns the canonical destination (E.164, the address), which ``enroll_code_factor`` needs.
    The new code replaces any earlier enrollment code of this type. Raises
    ``FactorNotAllowed``, ``InvalidPhoneNumber``, ``InvalidEmailAddress``, ``AlreadyEnrolled``,
    ``RateLimited``, ``DeliveryFailed``; nothing is saved until the code comes back.
    """
    return _code_factor(factor_type).begin_enrollment(user, request, destination=destination)


def enroll_code_factor(
    user: Any,
    factor_type: str,
    destination: str,
    code: str,
    request: HttpRequest | None = None,
    *,
    name: str = "",
    then: Callable[[], None] | None = None,
) -> FactorModel:
    """Save the SMS or email factor once ``code``, sent by ``send_enrollment_code``, comes back.

    A wrong code counts against that send (5 and it is void: send a new one). ``then`` runs in
    the transaction that saves the factor; if it raises, nothing is saved or spent.
    """
    return _code_factor(factor_type).confirm_enrollment(
        user, code, request, name=name, then=then, destination=destination
    )


def _code_factor(factor_type: str) -> CodeFactor:
    factor = _enrollable(factor_type)
    if not isinstance(factor, CodeFactor):
        raise errors.FactorNotAllowed()
    return factor


def webauthn_registration_options(user: Any, request: HttpRequest) -> dict[str, Any]:
    """Options for the browser's ``navigator.credentials.create()``; the challenge stays here."""
    return begin_enrollment(user, webauthn_factor.WebAuthn.type, request)


def enroll_webauthn(
    user: Any, response: str, request: HttpRequest, name: str = ""
) -> WebAuthnCredential:
    """Save a security key or passkey once its response to the stored challenge verifies."""
    return enroll(user, webauthn_factor.WebAuthn.type, response, request, name=name)


# --- passkey sign-in ------------------------------------------------------------------------


def passkey_login_options(request: HttpRequest) -> dict[str, Any]:
    """Options for a passkey login: any discoverable credential, user verification required."""
    return webauthn_factor.passkey_login_options(request)


def verify_passkey_login(request: HttpRequest, response: str) -> WebAuthnCredential:
    """Check a passkey login's assertion; return the credential, whose ``user`` may sign in.

    The passkey is the whole login (PEND-06): user verification is required, and the user's
    policy must allow WebAuthn. Raises ``InvalidCode`` (or ``FactorNotAllowed``); failures are
    audited once the credential says whose account it is. Nothing is spent on failure.
    """
    factor = get_factor(webauthn_factor.WebAuthn.type)
    assertion = webauthn_factor.find_passkey(request, response)
    user = assertion.device.user
    try:
        with transaction.atomic():
            device = webauthn_factor.verify_passkey(assertion, request)
            # Checked after the signature, so only the key's holder learns why it was refused;
            # raising here rolls the spend back.
            if not getattr(user, "is_active", True):
                raise errors.InvalidCode(
                    str(webauthn_factor.MESSAGES["inactive"]), reason="inactive"
                )
            if not factor.allowed_by(policy_for(user)):
                raise errors.FactorNotAllowed(
                    str(webauthn_factor.MESSAGES["passkey_not_allowed"]), reason="not_allowed"
                )
    except (errors.InvalidCode, errors.FactorNotAllowed) as exc:
        events.record(
            Kind.FAILED, user, request, factor_type=factor.type, passkey=True, **exc.extra
        )
        raise
    events.record(Kind.VERIFIED, user, request, factor_type=factor.type, passkey=True)
    return device
