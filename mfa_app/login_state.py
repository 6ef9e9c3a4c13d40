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

from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from . import clock, crypto
from .conf import app_settings

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
# The user's session epoch this session signed in under (SES-06), and when it was last
# offered to sign the user's other sessions out (after a factor change).
SESSION_EPOCH_KEY = "_mfa_session_epoch"
SIGN_OUT_OFFER_KEY = "_mfa_sign_out_offer"
# How long the security page keeps offering it.
SIGN_OUT_OFFER_SECONDS = 3600
# A password sign-in of a user without a passkey: offer one at the next page (its user's pk).
PASSKEY_OFFER_KEY = "_mfa_passkey_offer"
# Why a login is pending: it must answer a challenge, or enroll a first factor.
CHALLENGE = "challenge"
ENROLL = "enroll"
_COMPLETING = "_mfa_completing"
# A pending login carried by the request itself rather than by a session: a token client's
# signed challenge token (mfa_app.contrib.rest_framework) names it on every request.
_CARRIED = "_mfa_carried_pending"
# What a token client's token says its holder proved, and when (its claims): read in place of
# the session's AUTH_AT_KEY and VERIFIED_KEY records.
_CARRIED_PROOF = "_mfa_carried_proof"


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
    carried_pending = getattr(request, _CARRIED, None)
    if carried_pending is not None:
        return carried_pending
    session = getattr(request, "session", None)
    data = session.get(PENDING_KEY) if session is not None else None
    if not isinstance(data, dict):
        return None
    try:
        return PendingLogin(**data)
    except TypeError:
        return None


def start_pending(request: HttpRequest, pending: PendingLogin) -> None:
    """Demote the session to ``pending``: the auth keys go, ``request.user`` is anonymous."""
    session = request.session
    for key in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, DEVICE_ID_SESSION_KEY):
        session.pop(key, None)
    session[PENDING_KEY] = asdict(pending)
    request.user = AnonymousUser()


def carry_pending(request: HttpRequest, pending: PendingLogin) -> None:
    """Let this request answer ``pending`` without a session (a token client's challenge).

    The flows read it like a session's pending login; ending it touches no session, and its
    server-side record (the challenge row) is what makes it single use.
    """
    setattr(request, _CARRIED, pending)
    # It acts for the pending login alone, whoever a cookie session may have signed in.
    request.user = AnonymousUser()


def carried(request: HttpRequest) -> bool:
    """Whether this request's pending login is carried by the request, not by a session."""
    return getattr(request, _CARRIED, None) is not None


def completing(request: HttpRequest) -> bool:
    """Whether this request's ``login()`` is mfa_app finishing a sign-in (no new decision)."""
    return getattr(request, _COMPLETING, False)


def log_in(
    request: HttpRequest,
    user: Any,
    backend: str | None,
    *,
    factor_type: str | None = None,
    device: Any = None,
) -> None:
    """Log ``user`` in for real (a new session key), marked MFA-verified with ``factor_type``."""
    request.session.pop(PENDING_KEY, None)
    setattr(request, _COMPLETING, True)
    try:
        auth.login(request, user, backend=backend)
    finally:
        delattr(request, _COMPLETING)
    if factor_type is None:
        mark_authenticated(request)
        return
    mark_verified(request, factor_type)
    if device is not None:
        otp_login(request, device)


def carry_proof(
    request: HttpRequest,
    authenticated_at: float | None,
    verified_at: float | None,
    factor_type: str | None,
) -> None:
    """Read what a token says its holder proved (when, with which factor) as the session's."""
    setattr(request, _CARRIED_PROOF, (authenticated_at, verified_at, factor_type))


def authenticated_at(request: HttpRequest) -> float | None:
    """When the user last proved who they are (password, MFA or re-authentication)."""
    proof = getattr(request, _CARRIED_PROOF, None)
    if proof is not None:
        return max((at for at in proof[:2] if at is not None), default=None)
    at = request.session.get(AUTH_AT_KEY)
    return at if isinstance(at, int | float) else None


def drop(request: HttpRequest) -> None:
    """Forget the pending login entirely, server side included."""
    if carried(request):
        # A token client's: a session the request may also have is not this login's.
        delattr(request, _CARRIED)
        request.user = AnonymousUser()
        return
    request.session.flush()
    request.user = AnonymousUser()


def discard_changes(request: HttpRequest) -> None:
    """Do not save this request's session changes: the work they recorded was rolled back."""
    session = getattr(request, "session", None)
    if session is not None:
        session.modified = False


def mark_authenticated(request: HttpRequest) -> None:
    request.session[AUTH_AT_KEY] = now()


def mark_verified(request: HttpRequest, factor_type: str) -> None:
    """The signed-in user just answered with a second factor (``factor_type``)."""
    at = now()
    request.session[AUTH_AT_KEY] = at
    request.session[VERIFIED_KEY] = {"at": at, "factor": factor_type}


def verified(request: HttpRequest) -> tuple[float | None, str | None]:
    """When this session last passed MFA and with which factor type; ``(None, None)``: never."""
    proof = getattr(request, _CARRIED_PROOF, None)
    if proof is not None:
        return (proof[1], proof[2]) if proof[1] is not None else (None, None)
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


# --- signing out the other sessions (SES-06) ------------------------------------------------


def signed_in_user_pk(request: HttpRequest) -> str | None:
    """The pk of the user this session is signed in as, read without loading the user."""
    session = getattr(request, "session", None)
    pk = session.get(SESSION_KEY) if session is not None else None
    return str(pk) if pk is not None else None


def session_epoch(request: HttpRequest) -> int:
    """The epoch this session signed in under; 0 for one signed in before epochs existed."""
    epoch = request.session.get(SESSION_EPOCH_KEY, 0)
    return epoch if isinstance(epoch, int) else 0


def set_session_epoch(request: HttpRequest, epoch: int) -> None:
    if request.session.get(SESSION_EPOCH_KEY) != epoch:
        request.session[SESSION_EPOCH_KEY] = epoch


def log_out(request: HttpRequest) -> None:
    """Sign this session out as Django's ``logout()`` does (it flushes the session)."""
    auth.logout(request)


def offer_sign_out(request: HttpRequest) -> None:
    request.session[SIGN_OUT_OFFER_KEY] = now()


def sign_out_offered(request: HttpRequest) -> bool:
    """Whether a factor changed recently in this session, so ending the others is offered."""
    at = request.session.get(SIGN_OUT_OFFER_KEY)
    return isinstance(at, int | float) and now() - at <= SIGN_OUT_OFFER_SECONDS


def withdraw_sign_out_offer(request: HttpRequest) -> None:
    request.session.pop(SIGN_OUT_OFFER_KEY, None)


def offer_passkey(request: HttpRequest, user: Any) -> None:
    request.session[PASSKEY_OFFER_KEY] = str(user.pk)


def passkey_offer_due(request: HttpRequest) -> bool:
    """Whether this signed-in session still owes its user the passkey offer (no query)."""
    owed = request.session.get(PASSKEY_OFFER_KEY)
    return owed is not None and owed == signed_in_user_pk(request)


def withdraw_passkey_offer(request: HttpRequest) -> None:
    request.session.pop(PASSKEY_OFFER_KEY, None)
