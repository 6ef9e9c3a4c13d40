"""The MFA state of a session: the pending login, and every other record mfa_app keeps there.

Any ``login()`` sends ``user_logged_in``; the receiver here decides whether MFA
is needed and, if so, demotes the fresh session at once: the auth keys move
into a pending record and ``request.user`` becomes anonymous. Nothing
downstream can mistake a pending login for a logged-in user, even without the
middleware. Completing MFA calls ``login()`` again, which cycles the session key.

Every session key mfa_app uses is defined here and read or written only through the named
functions below (as ``django.contrib.auth`` owns its three keys), so the flows never touch
``request.session`` themselves.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from . import clock, crypto, risk, services
from .conf import app_settings
from .models import FactorType

PENDING_KEY = "_mfa_pending"
# When the user last proved who they are (login, MFA or re-authentication).
AUTH_AT_KEY = "_mfa_auth_at"
VERIFIED_KEY = "_mfa_verified"
# The step-up challenge this session opened and has not passed.
STEP_UP_KEY = "_mfa_step_up"
# The TOTP secret offered during enrollment, encrypted, until the user confirms it.
TOTP_SECRET_KEY = "_mfa_totp_secret"  # noqa: S105 (a session key name)
# Where an SMS or email enrollment code was sent from this session.
CODE_ENROLLMENT_KEY = "_mfa_code_enrollment"
# Wrong passwords or codes on the re-authentication page, this session.
REAUTH_FAILURES_KEY = "_mfa_reauth_failures"
# Prefix of the WebAuthn challenges kept server side, one key per purpose.
WEBAUTHN_KEY = "_mfa_webauthn"
CHALLENGE = services.CHALLENGE
ENROLL = services.ENROLL
_COMPLETING = "_mfa_completing"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class PendingLogin:
    user_pk: str
    backend: str
    started: float
    reason: str
    next_url: str = ""
    # The server-side record: deleting it (password change, MFA reset) ends the pending login.
    challenge_id: str = ""

    @property
    def expired(self) -> bool:
        return now() > self.started + app_settings.CHALLENGE_TIMEOUT

    @property
    def expires_at(self) -> float:
        return self.started + app_settings.CHALLENGE_TIMEOUT


def now() -> float:
    """The session records' clock: ``mfa_app.clock``, as a timestamp."""
    return clock.timestamp()


def safe_next(request: HttpRequest, url: str | None) -> str:
    """Return ``url`` if it is a same-site URL this request may be sent to, else ``""``."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def get_pending(request: HttpRequest) -> PendingLogin | None:
    session = getattr(request, "session", None)
    data = session.get(PENDING_KEY) if session is not None else None
    if not isinstance(data, dict):
        return None
    try:
        return PendingLogin(**data)
    except TypeError:
        return None


def pending_user(request: HttpRequest) -> Any | None:
    """The user of a live pending login, or ``None`` (no pending login, or it expired)."""
    pending = get_pending(request)
    if pending is None or pending.expired:
        return None
    if not hasattr(request, "_mfa_pending_user"):
        user_model = auth.get_user_model()
        try:
            pk = user_model._meta.pk.to_python(pending.user_pk)
            user = user_model._default_manager.get(pk=pk)
        except (user_model.DoesNotExist, ValidationError):
            user = None
        live = getattr(user, "is_active", False) and services.is_pending(user, pending.challenge_id)
        request._mfa_pending_user = user if live else None
    return request._mfa_pending_user


def begin_pending(request: HttpRequest, user: Any, reason: str) -> PendingLogin:
    session = request.session
    backend = session.get(BACKEND_SESSION_KEY, "")
    for key in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, DEVICE_ID_SESSION_KEY):
        session.pop(key, None)
    challenge = services.start_challenge(user, request, reason)
    pending = PendingLogin(
        user_pk=str(user.pk),
        backend=backend,
        started=now(),
        reason=reason,
        next_url=safe_next(request, request.POST.get("next") or request.GET.get("next")),
        challenge_id=str(challenge.pk),
    )
    session[PENDING_KEY] = asdict(pending)
    request.user = AnonymousUser()
    return pending


def complete(request: HttpRequest, user: Any, factor_type: str, device: Any = None) -> str:
    """Log the pending user in for real and return the safe URL to continue to."""
    pending = get_pending(request)
    _login_verified(request, user, factor_type, device, pending.backend if pending else None)
    return safe_next(request, pending.next_url if pending else "")


def complete_passkey(request: HttpRequest, user: Any, device: Any) -> None:
    """Log in a user whose passkey (user verification included) was the whole login.

    The passkey satisfied MFA itself (PEND-06), so no pending login starts; one the session
    had (another user's password step, say) is dropped. ``MFA_EXEMPT_BACKENDS`` plays no part.
    """
    backends = settings.AUTHENTICATION_BACKENDS
    backend = MODEL_BACKEND if MODEL_BACKEND in backends else backends[0]
    _login_verified(request, user, FactorType.WEBAUTHN, device, backend)


def _login_verified(
    request: HttpRequest, user: Any, factor_type: str, device: Any, backend: str | None
) -> None:
    request.session.pop(PENDING_KEY, None)
    setattr(request, _COMPLETING, True)
    try:
        auth.login(request, user, backend=backend)
    finally:
        delattr(request, _COMPLETING)
    at = now()
    request.session[AUTH_AT_KEY] = at
    request.session[VERIFIED_KEY] = {"at": at, "factor": factor_type}
    if device is not None:
        otp_login(request, device)
    services.note_mfa_passed(user, request)


def complete_without_mfa(request: HttpRequest, user: Any) -> str:
    """Log a pending user in who may postpone enrollment (grace period); return where to go."""
    pending = get_pending(request)
    request.session.pop(PENDING_KEY, None)
    setattr(request, _COMPLETING, True)
    try:
        auth.login(request, user, backend=pending.backend if pending else None)
    finally:
        delattr(request, _COMPLETING)
    mark_authenticated(request)
    risk.record_login(user, request)
    return safe_next(request, pending.next_url if pending else "")


def drop(request: HttpRequest) -> None:
    """Forget the pending login entirely, server side included."""
    request.session.flush()
    request.user = AnonymousUser()


def mark_authenticated(request: HttpRequest) -> None:
    request.session[AUTH_AT_KEY] = now()


def mark_verified(request: HttpRequest, factor_type: str) -> None:
    """The signed-in user just answered with a second factor (``factor_type``)."""
    at = now()
    request.session[AUTH_AT_KEY] = at
    request.session[VERIFIED_KEY] = {"at": at, "factor": factor_type}


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the user proved who they are recently enough for a sensitive change.

    A user with a factor must have passed MFA within ``MFA_REAUTHENTICATION_TIMEOUT``: a
    sign-in that skipped the challenge (remembered device, RISK_BASED, bypass) or a password
    alone is not enough to add or remove factors (SES-07, TD-05). A user without one proves
    it with the password.
    """
    timeout = app_settings.REAUTHENTICATION_TIMEOUT
    if services.active_factors(request.user):
        at = verified(request)[0]
    else:
        at = request.session.get(AUTH_AT_KEY)
        at = at if isinstance(at, int | float) else None
    return at is not None and now() - at <= timeout


def verified(request: HttpRequest) -> tuple[float | None, str | None]:
    """When this session last passed MFA and with which factor type; ``(None, None)``: never."""
    record = request.session.get(VERIFIED_KEY)
    at = record.get("at") if isinstance(record, dict) else None
    if not isinstance(at, int | float):
        return None, None
    return at, record.get("factor")


# --- step-up --------------------------------------------------------------------------------


def step_up_challenge_id(request: HttpRequest) -> str | None:
    """The step-up challenge this session opened and did not pass, if any."""
    record = request.session.get(STEP_UP_KEY)
    value = record.get("challenge_id") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def open_step_up(request: HttpRequest, challenge_id: str) -> None:
    request.session[STEP_UP_KEY] = {"challenge_id": challenge_id}


def step_up_passed(request: HttpRequest, factor_type: str, device: Any) -> None:
    """The signed-in user answered their step-up challenge: note it, under a new session key."""
    request.session.pop(STEP_UP_KEY, None)
    mark_verified(request, factor_type)
    # More rights, new key: a session id copied before the step-up does not get them.
    request.session.cycle_key()
    if device is not None:
        otp_login(request, device)


# --- re-authentication ----------------------------------------------------------------------


def reauthenticated(request: HttpRequest, *, with_second_factor: str | None) -> None:
    """The signed-in user proved it is them again: forget failures, new session key (SES-01)."""
    request.session.pop(REAUTH_FAILURES_KEY, None)
    request.session.cycle_key()
    if with_second_factor:
        mark_verified(request, with_second_factor)
    else:
        mark_authenticated(request)


def count_reauthentication_failure(request: HttpRequest) -> int:
    """Count one more failed re-authentication of this session; return the total."""
    failures = request.session.get(REAUTH_FAILURES_KEY, 0) + 1
    request.session[REAUTH_FAILURES_KEY] = failures
    return failures


# --- enrollment in progress -----------------------------------------------------------------


def offered_totp_secret(request: HttpRequest, user: Any) -> str | None:
    """The TOTP secret offered to ``user`` from this session, or ``None``.

    A session from before a key rotation, or a tampered one, has none: a new one is offered.
    """
    stored = request.session.get(TOTP_SECRET_KEY)
    if isinstance(stored, dict) and stored.get("user") == str(user.pk):
        try:
            return crypto.decrypt(stored["secret"])
        except (crypto.DecryptionError, AttributeError, KeyError, TypeError, ValueError):
            return None
    return None


def offer_totp_secret(request: HttpRequest, user: Any, secret: str) -> None:
    # Encrypted like the saved secret: a session store is not a safer place than the table.
    request.session[TOTP_SECRET_KEY] = {"user": str(user.pk), "secret": crypto.encrypt(secret)}


def forget_totp_secret(request: HttpRequest) -> None:
    request.session.pop(TOTP_SECRET_KEY, None)


def code_sent_to(request: HttpRequest, user: Any, factor_type: str) -> str | None:
    """Where this user's enrollment code of ``factor_type`` went from this session, if anywhere."""
    stored = request.session.get(CODE_ENROLLMENT_KEY)
    if (
        isinstance(stored, dict)
        and stored.get("user") == str(user.pk)
        and stored.get("type") == factor_type
        and isinstance(stored.get("destination"), str)
    ):
        return stored["destination"]
    return None


def note_code_sent(request: HttpRequest, user: Any, factor_type: str, destination: str) -> None:
    request.session[CODE_ENROLLMENT_KEY] = {
        "user": str(user.pk),
        "type": factor_type,
        "destination": destination,
    }


def forget_code_sent(request: HttpRequest) -> None:
    request.session.pop(CODE_ENROLLMENT_KEY, None)


# --- WebAuthn challenges --------------------------------------------------------------------


def keep_webauthn_challenge(request: HttpRequest, purpose: str, state: dict[str, Any]) -> None:
    request.session[f"{WEBAUTHN_KEY}_{purpose}"] = state


def take_webauthn_challenge(request: HttpRequest | None, purpose: str) -> Any:
    """Remove and return the WebAuthn challenge kept for ``purpose`` (``None`` if none)."""
    session = getattr(request, "session", None)
    return session.pop(f"{WEBAUTHN_KEY}_{purpose}", None) if session is not None else None


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="mfa_app.password_changed")
def end_pending_logins_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    # AbstractBaseUser.set_password() keeps the new password in ``_password`` until after save:
    # as Django ends sessions when the password changes, end half-finished logins too.
    if getattr(instance, "_password", None) is not None:
        services.end_pending_logins(instance)
        if not kwargs.get("created"):
            services.note_password_changed(instance)


@receiver(user_logged_in, dispatch_uid="mfa_app.gate_login")
def gate_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session") or getattr(request, _COMPLETING, False):
        return
    decision = services.decide(user, request, request.session.get(BACKEND_SESSION_KEY, ""))
    services.record_decision(user, decision, request)
    if decision.outcome is None:
        mark_authenticated(request)
        risk.record_login(user, request)
        return
    if decision.outcome == ENROLL:
        services.note_enrollment_asked(user)
    begin_pending(request, user, decision.outcome)
