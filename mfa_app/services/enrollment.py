"""Adding factors: TOTP, WebAuthn, SMS and email enrollment; passkey sign-in."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from .. import errors, events, lockout
from ..factors import get_factor
from ..factors import totp as totp_factor
from ..factors import webauthn as webauthn_factor
from ..factors.codes import CodeFactor
from ..masking import mask_destination
from ..models import (
    FactorModel,
    FactorType,
    TOTPFactor,
    WebAuthnCredential,
)
from ..policy import EffectivePolicy, policy_for
from ..qr import qr_svg
from .status import Kind, list_factors

# --- enrollment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TOTPSetup:
    """A TOTP secret to show once: base32 for manual entry, ``otpauth://`` URI, QR code SVG."""

    secret: str
    uri: str
    qr_svg: str


def totp_setup(user: Any, secret: str, request: HttpRequest | None = None) -> TOTPSetup:
    """Describe a not-yet-confirmed TOTP secret: its ``otpauth://`` URI and QR code."""
    issuer = policy_for(user).issuer_for(request)
    uri = totp_factor.provisioning_uri(secret, user.get_username(), issuer)
    return TOTPSetup(secret=secret, uri=uri, qr_svg=qr_svg(uri))


def new_totp_secret() -> str:
    """A new random base32 TOTP secret (keep it server-side until ``enroll_totp``)."""
    return totp_factor.generate_secret()


def enroll_totp(
    user: Any, secret: str, code: str, request: HttpRequest | None = None, name: str = ""
) -> TOTPFactor:
    """Save a TOTP factor once ``code`` proves the user's app holds ``secret``."""
    _require_allowed(user, FactorType.TOTP)
    step = totp_factor.matching_step(secret, code)
    if step is None:
        raise errors.InvalidCode()
    with transaction.atomic():
        device = TOTPFactor.objects.create(
            user=user,
            name=name or str(get_factor(FactorType.TOTP).label),
            key=secret,
            confirmed=True,
            last_t=step,
            is_primary=not list_factors(user),
        )
    events.record(Kind.ENROLLED, user, request, factor_type=FactorType.TOTP)
    return device


def send_enrollment_code(
    user: Any, factor_type: str, destination: Any, request: HttpRequest | None = None
) -> str:
    """Send a code to a number (SMS) or the account's address (email) the user wants to add.

    Returns the canonical destination (E.164, the address), which ``enroll_code_factor`` needs.
    The new code replaces any earlier enrollment code of this type. Raises
    ``FactorNotAllowed``, ``InvalidPhoneNumber``, ``InvalidEmailAddress``, ``AlreadyEnrolled``,
    ``RateLimited``, ``DeliveryFailed``; nothing is saved until the code comes back.
    """
    _require_allowed(user, factor_type)
    factor = _code_factor(factor_type)
    destination = factor.clean_destination(destination, user)
    if factor.devices(user).filter(**{factor.destination_field: destination}).exists():
        raise errors.AlreadyEnrolled()
    factor.send(user, destination, request)
    return destination


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
    _require_allowed(user, factor_type)
    factor = _code_factor(factor_type)
    sent = factor.live_code(user, destination=destination)
    lockout.reserve_attempt(user)
    if not factor.matches(sent, code):
        raise factor.count_failure(sent)
    try:
        with transaction.atomic():
            if not factor.spend(sent):
                raise errors.InvalidCode()
            device = factor.model.objects.create(
                user=user,
                name=name or _default_name(factor, destination),
                confirmed=True,
                is_primary=not list_factors(user),
                **{factor.destination_field: destination},
            )
            if then is not None:
                then()
    except IntegrityError as exc:
        # Added by a concurrent request since the code was sent.
        raise errors.AlreadyEnrolled() from exc
    lockout.attempt_succeeded(user)
    events.record(Kind.ENROLLED, user, request, factor_type=factor_type)
    return device


def _code_factor(factor_type: str) -> CodeFactor:
    factor = get_factor(factor_type)
    if not isinstance(factor, CodeFactor):
        raise errors.FactorNotAllowed()
    return factor


def _default_name(factor: CodeFactor, destination: str) -> str:
    # "Text message ***-***-2671": tells two phones apart without spelling the number out.
    return f"{factor.label} {mask_destination(destination)}"


def webauthn_registration_options(user: Any, request: HttpRequest) -> dict[str, Any]:
    """Options for the browser's ``navigator.credentials.create()``; the challenge stays here."""
    _require_allowed(user, FactorType.WEBAUTHN)
    return webauthn_factor.registration_options(user, request)


def enroll_webauthn(
    user: Any, response: str, request: HttpRequest, name: str = ""
) -> WebAuthnCredential:
    """Save a security key or passkey once its response to the stored challenge verifies."""
    _require_allowed(user, FactorType.WEBAUTHN)
    fields = webauthn_factor.check_registration(user, request, response)
    try:
        with transaction.atomic():
            device = WebAuthnCredential.objects.create(
                user=user,
                name=name or str(get_factor(FactorType.WEBAUTHN).label),
                confirmed=True,
                is_primary=not list_factors(user),
                **fields,
            )
    except IntegrityError as exc:
        # Registered by a concurrent request since the check: the unique index decides.
        raise errors.InvalidCode(str(webauthn_factor.MESSAGES["already_registered"])) from exc
    events.record(Kind.ENROLLED, user, request, factor_type=FactorType.WEBAUTHN)
    return device


def passkey_login_options(request: HttpRequest) -> dict[str, Any]:
    """Options for a passkey login: any discoverable credential, user verification required."""
    return webauthn_factor.passkey_login_options(request)


def verify_passkey_login(request: HttpRequest, response: str) -> WebAuthnCredential:
    """Check a passkey login's assertion; return the credential, whose ``user`` may sign in.

    The passkey is the whole login (PEND-06): user verification is required, and the user's
    policy must allow WebAuthn. Raises ``InvalidCode`` (or ``FactorNotAllowed``); failures are
    audited once the credential says whose account it is. Nothing is spent on failure.
    """
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
            if not policy_for(user).allows(FactorType.WEBAUTHN):
                raise errors.FactorNotAllowed(
                    str(webauthn_factor.MESSAGES["passkey_not_allowed"]), reason="not_allowed"
                )
    except (errors.InvalidCode, errors.FactorNotAllowed) as exc:
        events.record(
            Kind.FAILED, user, request, factor_type=FactorType.WEBAUTHN, passkey=True, **exc.extra
        )
        raise
    events.record(Kind.VERIFIED, user, request, factor_type=FactorType.WEBAUTHN, passkey=True)
    return device


def _require_allowed(user: Any, factor_type: str) -> EffectivePolicy:
    policy = policy_for(user)
    if not policy.allows(factor_type):
        raise errors.FactorNotAllowed()
    return policy
