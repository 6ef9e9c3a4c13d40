"""The sign-in: the decision at ``login()``, the pending login, and finishing it.

Any ``login()`` sends ``user_logged_in``; ``gate_login`` decides there whether MFA is needed
and, if so, demotes the fresh session to a pending login (``login_state.start_pending``), so
nothing downstream can mistake it for a logged-in user, even without the middleware. Passing
MFA logs the user in again (``complete``), under a new session key.
"""

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from .. import login_state, risk, services
from ..conf import app_settings
from ..factors.base import factor_for_device
from ..models import FactorModel
from ..services.sessions import epoch_read as session_epoch_read
from . import passkey_offer

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def pending_user(request: HttpRequest) -> Any | None:
    """The user of a live pending login, or ``None`` (no pending login, or it ended)."""
    pending = login_state.get_pending(request)
    if pending is None or pending.expired:
        return None
    if not hasattr(request, "_mfa_pending_user"):
        user_model = auth.get_user_model()
        try:
            pk = user_model._meta.pk.to_python(pending.user_pk)
        except ValidationError:
            pk = None
        # The user and the challenge row in one read: answering in this request reads neither
        # again.
        challenge = None if pk is None else services.pending_challenge(pk, pending.challenge_id)
        user = challenge.user if challenge is not None else None
        if not getattr(user, "is_active", False):
            challenge = user = None
        request._mfa_pending_challenge = challenge
        request._mfa_pending_user = user
    return request._mfa_pending_user


def pending_challenge(request: HttpRequest) -> Any | None:
    """The challenge row of the live pending login that ``pending_user`` read, if any."""
    if pending_user(request) is None:
        return None
    return getattr(request, "_mfa_pending_challenge", None)


def begin_pending(request: HttpRequest, user: Any, reason: str) -> login_state.PendingLogin:
    """Open the server-side record of the pending login and demote the session to it."""
    next_url = request.POST.get("next") or request.GET.get("next")
    pending = _open_pending(
        request,
        user,
        reason,
        request.session.get(BACKEND_SESSION_KEY, ""),
        login_state.safe_next(request, next_url),
    )
    login_state.start_pending(request, pending)
    return pending


def begin_token_login(
    request: HttpRequest, user: Any, backend: str
) -> login_state.PendingLogin | None:
    """A password sign-in with no session (a token client's): the decision ``gate_login`` makes.

    Returns the pending login this request now carries, for the client to carry on in its
    challenge token, or ``None`` when the sign-in needs no MFA.
    """
    decision = services.decide(user, request, backend)
    services.record_decision(user, decision, request)
    if decision.outcome is None:
        risk.record_login(user, request)
        return None
    if decision.outcome == login_state.ENROLL:
        services.note_enrollment_asked(user)
    pending = _open_pending(request, user, decision.outcome, backend, "")
    login_state.carry_pending(request, pending)
    return pending


def _open_pending(
    request: HttpRequest, user: Any, reason: str, backend: str, next_url: str
) -> login_state.PendingLogin:
    challenge = services.start_challenge(user, request, reason)
    return login_state.PendingLogin(
        user_pk=str(user.pk),
        backend=backend,
        started=login_state.now(),
        reason=reason,
        next_url=next_url,
        challenge_id=str(challenge.pk),
    )


def complete(
    request: HttpRequest,
    user: Any,
    factor_type: str,
    device: Any = None,
    verification: Any = None,
    policy: Any = None,
) -> str:
    """Log the pending user in for real and return the safe URL to continue to.

    ``verification``: the passed challenge's, in whose transaction this runs (what it read
    and wrote already is not read or written again); ``policy``: the user's, if read already.
    """
    noted = verification is not None
    if login_state.carried(request):
        # A token client's: no session to sign in; the caller issues the client's tokens.
        services.note_mfa_passed(user, request, noted=noted)
        return ""
    pending = login_state.get_pending(request)
    backend = pending.backend if pending else None
    login_state.log_in(request, user, backend, factor_type=factor_type, device=device)
    _record_epoch(request, user, getattr(verification, "session_epoch", None))
    services.note_mfa_passed(user, request, noted=noted)
    passkey_offer.after_password_sign_in(request, user, backend, policy)
    return login_state.safe_next(request, pending.next_url if pending else "")


def complete_passkey(request: HttpRequest, user: Any, device: Any) -> None:
    """Log in a user whose passkey (user verification included) was the whole login.

    The passkey satisfied MFA itself (PEND-06), so no pending login starts; one the session
    had (another user's password step, say) is dropped. ``MFA_EXEMPT_BACKENDS`` plays no part.
    """
    backends = settings.AUTHENTICATION_BACKENDS
    backend = MODEL_BACKEND if MODEL_BACKEND in backends else backends[0]
    factor_type = factor_for_device(device).type
    login_state.log_in(request, user, backend, factor_type=factor_type, device=device)
    _record_epoch(request, user)
    services.note_mfa_passed(user, request)


def complete_without_mfa(request: HttpRequest, user: Any) -> str:
    """Log a pending user in who may postpone enrollment (grace period); return where to go."""
    if login_state.carried(request):
        # Spent: the client's challenge token cannot postpone (and get tokens) again.
        pending = login_state.get_pending(request)
        services.end_pending_login(user, pending.challenge_id)
        risk.record_login(user, request)
        return ""
    pending = login_state.get_pending(request)
    login_state.log_in(request, user, pending.backend if pending else None)
    _record_epoch(request, user)
    risk.record_login(user, request)
    passkey_offer.after_password_sign_in(request, user, pending.backend if pending else None)
    return login_state.safe_next(request, pending.next_url if pending else "")


def signed_out_elsewhere(request: HttpRequest) -> bool:
    """Sign this session out if the user signed their sessions out since it signed in.

    Reads the session's own user id, not ``request.user``, so a request that never needed
    the user does not load it; the epoch comes from the cache when it is shared (SES-06).
    """
    user_pk = login_state.signed_in_user_pk(request)
    if user_pk is None:
        return False
    if login_state.session_epoch(request) >= services.session_epoch(user_pk):
        return False
    login_state.log_out(request)
    return True


def _record_epoch(request: HttpRequest, user: Any, epoch: int | None = None) -> None:
    """A session signed in now outlives every sign-out of the user's sessions before it.

    ``epoch``: the user's, if the caller read it in this transaction already.
    """
    if epoch is None:
        epoch = services.session_epoch(user.pk)
    else:
        session_epoch_read(user.pk, epoch)
    login_state.set_session_epoch(request, epoch)


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the user proved who they are recently enough for a sensitive change.

    A user with a factor must have passed MFA within ``MFA_REAUTHENTICATION_TIMEOUT``: a
    sign-in that skipped the challenge (remembered device, RISK_BASED, bypass) or a password
    alone is not enough to add or remove factors (SES-07, TD-05). A user without one proves
    it with the password.
    """
    if services.active_factors(request.user):
        at = login_state.verified(request)[0]
    else:
        at = login_state.authenticated_at(request)
    return at is not None and login_state.now() - at <= app_settings.REAUTHENTICATION_TIMEOUT


def _answered_through_django_otp(user: Any) -> FactorModel | None:
    """The factor a django-otp login form (``OTPAdminSite``'s) checked for this login, if any.

    django-otp sets ``user.otp_device`` only after the device's ``verify_token`` accepted the
    code, and mfa_app's factors answer that with the challenge's own rules (``mfa_app.otp``:
    the policy, the lockout, a spend that works once): that was this sign-in's second factor.
    """
    device = getattr(user, "otp_device", None)
    if isinstance(device, FactorModel) and device.user_id == user.pk:
        return device
    return None


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
    if request is None or not hasattr(request, "session") or login_state.completing(request):
        return
    decision = services.decide(user, request, request.session.get(BACKEND_SESSION_KEY, ""))
    services.record_decision(user, decision, request)
    if decision.outcome is None:
        login_state.mark_authenticated(request)
        _record_epoch(request, user)
        risk.record_login(user, request)
        passkey_offer.after_password_sign_in(
            request, user, request.session.get(BACKEND_SESSION_KEY, "")
        )
        return
    device = _answered_through_django_otp(user)
    if decision.outcome == login_state.CHALLENGE and device is not None:
        login_state.mark_verified(request, factor_for_device(device).type)
        _record_epoch(request, user)
        services.note_mfa_passed(user, request)
        return
    if decision.outcome == login_state.ENROLL:
        services.note_enrollment_asked(user)
    begin_pending(request, user, decision.outcome)
