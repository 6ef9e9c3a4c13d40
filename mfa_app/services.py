"""The Python API: every MFA state change, for pages, the JSON API, the admin and commands.

Each function that changes state also writes the audit event (and so sends the signal).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from . import errors, events
from .conf import app_settings
from .factors import get_factor, registered_factors
from .factors import totp as totp_factor
from .factors import webauthn as webauthn_factor
from .factors.recovery import Recovery
from .models import (
    Challenge,
    FactorModel,
    FactorType,
    RecoveryCodeSet,
    TOTPFactor,
    WebAuthnCredential,
)
from .policy import EffectivePolicy, policy_for
from .qr import qr_svg

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
    return next(f.type for f in registered_factors() if isinstance(device, f.model))


def recovery_codes_remaining(user: Any) -> int:
    return get_factor(RECOVERY).remaining(user)


@dataclass(frozen=True)
class MFAStatus:
    enabled: bool
    factors: list[FactorModel]
    recovery_codes_remaining: int
    policy: EffectivePolicy


def mfa_status(user: Any) -> MFAStatus:
    policy = policy_for(user)
    factors = list_factors(user)
    return MFAStatus(
        enabled=not policy.disabled and any(policy.allows(factor_type_of(d)) for d in factors),
        factors=factors,
        recovery_codes_remaining=recovery_codes_remaining(user),
        policy=policy,
    )


def login_requirement(user: Any, backend: str = "") -> str | None:
    """Say what a fresh login of ``user`` needs: ``CHALLENGE``, ``ENROLL`` or nothing."""
    if backend and backend in app_settings.EXEMPT_BACKENDS:
        return None
    policy = policy_for(user)
    if policy.disabled:
        return None
    if active_factors(user, policy):
        return CHALLENGE
    if policy.required:
        return ENROLL
    return None


def challenge_factor_types(user: Any, policy: EffectivePolicy | None = None) -> list[str]:
    """Factor types the user can answer a challenge with, primary first."""
    policy = policy or policy_for(user)
    types = list(dict.fromkeys(factor_type_of(d) for d in active_factors(user, policy)))
    if types and policy.recovery_codes_enabled and get_factor(RECOVERY).devices(user).exists():
        types.append(RECOVERY)
    return types


# --- challenges -----------------------------------------------------------------------------


def start_challenge(
    user: Any, request: HttpRequest | None = None, reason: str = CHALLENGE
) -> Challenge:
    """Open the server-side record of a pending login (a challenge, or a forced enrollment)."""
    now = timezone.now()
    challenge = Challenge.objects.create(
        user=user,
        created_at=now,
        expires_at=now + timedelta(seconds=app_settings.CHALLENGE_TIMEOUT),
    )
    events.record(Kind.CHALLENGED, user, request, challenge=str(challenge.pk), reason=reason)
    return challenge


def begin_challenge(user: Any, factor_type: str, request: HttpRequest) -> dict[str, Any]:
    """Prepare an answer with ``factor_type`` (WebAuthn options); return what the page needs."""
    if factor_type not in challenge_factor_types(user):
        raise errors.FactorNotAllowed()
    return get_factor(factor_type).begin_challenge(user, request)


def is_pending(user: Any, challenge_id: Any) -> bool:
    """Whether this pending login is still open: not finished, not ended by a password change."""
    try:
        return Challenge.objects.filter(
            pk=challenge_id, user=user, verified_at__isnull=True
        ).exists()
    except (ValidationError, ValueError, TypeError):
        return False


def end_pending_logins(user: Any) -> None:
    """End every unfinished login of ``user``: after a password change or an MFA reset."""
    Challenge.objects.filter(user=user, verified_at__isnull=True).delete()


def finish_enrollment(user: Any, challenge_id: Any, factor_type: str) -> bool:
    """Close the pending login that had to enroll; ``False`` if it ended meanwhile."""
    try:
        closed = Challenge.objects.filter(
            pk=challenge_id, user=user, verified_at__isnull=True, expires_at__gt=timezone.now()
        ).update(verified_at=timezone.now(), factor_type=factor_type)
    except (ValidationError, ValueError, TypeError):
        return False
    return closed == 1


@dataclass
class Verification:
    challenge: Challenge
    factor_type: str
    device: FactorModel
    new_recovery_codes: list[str] = field(default_factory=list)


def verify_challenge(
    user: Any, challenge_id: Any, factor_type: str, code: str, request: HttpRequest | None = None
) -> Verification:
    """Check ``code`` against the challenge; spend both on success, count a failure otherwise.

    Raises ``FactorNotAllowed``, ``ChallengeExpired``, ``ChallengeAlreadyVerified``,
    ``LockedOut`` or ``InvalidCode`` (with ``attempts_left`` in ``extra``).
    """
    if factor_type not in challenge_factor_types(user):
        raise errors.FactorNotAllowed()
    challenge = _live_challenge(user, challenge_id)
    now = timezone.now()
    rejection = None
    with transaction.atomic():
        try:
            device = get_factor(factor_type).verify_answer(user, code, request)
        except errors.InvalidCode as exc:
            device, rejection = None, exc
        if device is not None:
            won = Challenge.objects.filter(
                pk=challenge.pk,
                verified_at__isnull=True,
                failures__lt=app_settings.MAX_ATTEMPTS,
                expires_at__gt=now,
            ).update(verified_at=now, factor_type=factor_type)
            if not won:
                # The challenge ended meanwhile (another request won, or it expired or locked):
                # raising rolls back, so the code stays unspent.
                _live_challenge(user, challenge.pk)
                raise errors.ChallengeAlreadyVerified()
    if device is None:
        _count_failure(user, challenge, factor_type, request, rejection)
    events.record(Kind.VERIFIED, user, request, factor_type=factor_type)
    verification = Verification(challenge, factor_type, device)
    if factor_type == RECOVERY:
        remaining = recovery_codes_remaining(user)
        events.record(
            Kind.RECOVERY_CODE_USED, user, request, factor_type=RECOVERY, remaining=remaining
        )
        if remaining == 0:
            verification.new_recovery_codes = _replace_recovery_codes(user, request)
    return verification


def _live_challenge(user: Any, challenge_id: Any) -> Challenge:
    try:
        challenge = Challenge.objects.get(pk=challenge_id, user=user)
    except (Challenge.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise errors.ChallengeExpired() from exc
    if challenge.verified_at is not None:
        raise errors.ChallengeAlreadyVerified()
    if challenge.failures >= app_settings.MAX_ATTEMPTS:
        raise errors.LockedOut()
    if challenge.expires_at <= timezone.now():
        raise errors.ChallengeExpired()
    return challenge


def _count_failure(
    user: Any,
    challenge: Challenge,
    factor_type: str,
    request: Any,
    rejection: errors.InvalidCode | None = None,
) -> None:
    counted = Challenge.objects.filter(pk=challenge.pk, verified_at__isnull=True).update(
        failures=F("failures") + 1
    )
    if not counted:
        # A concurrent request with the same code won: this one lost a race, not a guess.
        _live_challenge(user, challenge.pk)
    failures = Challenge.objects.values_list("failures", flat=True).get(pk=challenge.pk)
    # The factor's reason for refusing (e.g. a WebAuthn counter that went back) goes on record.
    details = rejection.extra if rejection is not None else {}
    events.record(Kind.FAILED, user, request, factor_type=factor_type, failures=failures, **details)
    if failures >= app_settings.MAX_ATTEMPTS:
        events.record(Kind.LOCKED_OUT, user, request, factor_type=factor_type, failures=failures)
        raise errors.LockedOut()
    message = rejection.message if rejection is not None else None
    raise errors.InvalidCode(message, attempts_left=app_settings.MAX_ATTEMPTS - failures)


# --- enrollment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TOTPSetup:
    secret: str
    uri: str
    qr_svg: str


def totp_setup(user: Any, secret: str, request: HttpRequest | None = None) -> TOTPSetup:
    """Describe a not-yet-confirmed TOTP secret: its ``otpauth://`` URI and QR code."""
    issuer = policy_for(user).issuer_for(request)
    uri = totp_factor.provisioning_uri(secret, user.get_username(), issuer)
    return TOTPSetup(secret=secret, uri=uri, qr_svg=qr_svg(uri))


def new_totp_secret() -> str:
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


# --- recovery codes -------------------------------------------------------------------------


def recovery_codes_after_enrollment(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Generate the first set of recovery codes, if the policy wants them and none exist."""
    policy = policy_for(user)
    if not policy.recovery_codes_enabled or RecoveryCodeSet.objects.filter(user=user).exists():
        return []
    return _replace_recovery_codes(user, request, policy)


def regenerate_recovery_codes(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes; every earlier code stops working."""
    policy = policy_for(user)
    if not policy.recovery_codes_enabled:
        raise errors.RecoveryCodesDisabled()
    return _replace_recovery_codes(user, request, policy)


def _replace_recovery_codes(
    user: Any, request: HttpRequest | None, policy: EffectivePolicy | None = None
) -> list[str]:
    policy = policy or policy_for(user)
    codes = get_factor(RECOVERY).replace_codes(user, policy.recovery_codes_count)
    events.record(Kind.RECOVERY_CODES_GENERATED, user, request, count=len(codes))
    return codes


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
