"""Adding a factor: a signed-in user (after a recent proof of identity), or a pending login
that must enroll, whose sign-in the new factor completes.

The same verbs serve the enrollment pages and the JSON API: open who is enrolling, offer what
the factor needs (a TOTP secret, WebAuthn options, a code sent), confirm, finish.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import errors, factors, login_state, services
from ..factors import get_factor
from ..models import FactorModel, FactorType
from ..policy import EffectivePolicy, policy_for
from . import signin
from .manage import require_recent_auth

NO_SECRET = _("Start the enrollment first (POST enroll/totp/): no secret was offered yet.")
NOT_PENDING = _("Only a sign-in that must set up two-step verification can postpone it.")


class NoSecretOffered(errors.MFAError):
    """A TOTP confirmation with no secret offered to this session."""

    code = "invalid_request"


class NotPending(errors.MFAError):
    """Only a sign-in that must enroll can postpone it."""

    code = "invalid_request"


@dataclass
class Enrollment:
    """Who is adding a factor, and under which policy."""

    request: HttpRequest
    user: Any
    # A pending login that must enroll: the new factor completes its sign-in.
    pending: bool
    policy: EffectivePolicy


@dataclass(frozen=True)
class Enrolled:
    """A factor saved: the sign-in it completed (``next_url``), and the first recovery codes."""

    factor_type: str
    device: FactorModel
    recovery_codes: list[str] = field(default_factory=list)
    next_url: str = ""


def open_enrollment(request: HttpRequest, factor_type: str | None = None) -> Enrollment | None:
    """Who may add a factor (of ``factor_type``) from this request; ``None``: nobody.

    Open to signed-in users and to a pending login that must enroll. Raises ``ChallengeExpired``
    (dropped) when that pending login ended, ``FactorNotAllowed`` when the policy is off or does
    not allow the factor, and ``ReauthenticationRequired`` for a signed-in user whose last proof
    of identity is too old.
    """
    pending = login_state.get_pending(request)
    if request.user.is_authenticated:
        user, is_pending = request.user, False
    elif pending is not None and pending.reason == login_state.ENROLL:
        user, is_pending = signin.pending_user(request), True
        if user is None:
            login_state.drop(request)
            raise errors.ChallengeExpired()
    else:
        return None
    policy = policy_for(user)
    if policy.disabled or (factor_type and not policy.allows(factor_type)):
        raise errors.FactorNotAllowed()
    if not is_pending:
        require_recent_auth(request)
    return Enrollment(request, user, is_pending, policy)


def enrollable(enrollment: Enrollment) -> list[factors.Factor]:
    """The factors the user may add now, in menu order."""
    return factors.enrollable_factors(enrollment.user, enrollment.policy)


@dataclass(frozen=True)
class Choice:
    """One factor of the enrollment menu, and whether to recommend it."""

    factor: factors.Factor
    # Recommended in a browser that can use WebAuthn ...
    recommended: bool = False
    # ... and in one that cannot (the page picks, by script; without it, ``recommended``).
    recommended_without_webauthn: bool = False


def choices(enrollment: Enrollment) -> list[Choice]:
    """The factors the user may add now, in menu order, the one to recommend marked.

    The rule: the allowed factor with the lowest ``recommend_rank`` (a passkey, being
    phishing-resistant); where the browser has no WebAuthn, the best of the others (an
    authenticator app). Factors without a rank are never recommended.
    """
    offered = enrollable(enrollment)

    def best(candidates: list[factors.Factor]) -> factors.Factor | None:
        ranked = [f for f in candidates if f.recommend_rank is not None]
        return min(ranked, key=lambda f: f.recommend_rank or 0) if ranked else None

    anywhere = best(offered)
    without = best([f for f in offered if not f.needs_webauthn])
    return [Choice(f, f is anywhere, f is without) for f in offered]


def enrollable_factors(user: Any, policy: EffectivePolicy) -> list[str]:
    """The factor types ``user`` may add now: the policy allows them, and the factor can."""
    return [factor.type for factor in factors.enrollable_factors(user, policy)]


def grace_days_left(enrollment: Enrollment) -> int:
    """Days a pending login may still postpone enrollment (0: it must enroll now)."""
    if not enrollment.pending:
        return 0
    return services.grace_days_left(enrollment.user, enrollment.policy)


def postpone(enrollment: Enrollment) -> tuple[str, int]:
    """Let a pending login go on without MFA this time (grace period).

    Returns the safe ``next`` URL and the days left. Raises ``NotPending`` or ``GracePeriodOver``.
    """
    if not enrollment.pending:
        raise NotPending(str(NOT_PENDING))
    days_left = services.postpone_enrollment(enrollment.user, enrollment.request)
    next_url = signin.complete_without_mfa(enrollment.request, enrollment.user)
    return next_url, days_left


# --- TOTP -----------------------------------------------------------------------------------


def totp_setup(enrollment: Enrollment) -> services.TOTPSetup:
    """The secret offered to the user (kept encrypted in the session until confirmed)."""
    request, user = enrollment.request, enrollment.user
    secret = login_state.offered_totp_secret(request, user)
    if secret is None:
        secret = services.new_totp_secret()
        login_state.offer_totp_secret(request, user, secret)
    return services.totp_setup(user, secret, request)


def confirm_totp(enrollment: Enrollment, code: str, name: str = "") -> Enrolled:
    """Save the offered secret once ``code`` proves the user's app holds it."""
    request, user = enrollment.request, enrollment.user
    secret = login_state.offered_totp_secret(request, user)
    if secret is None:
        raise NoSecretOffered(str(NO_SECRET))
    enrolled = _save(
        enrollment,
        FactorType.TOTP,
        lambda: services.enroll_totp(user, secret, code, request, name=name),
    )
    login_state.forget_totp_secret(request)
    return enrolled


# --- WebAuthn -------------------------------------------------------------------------------


def webauthn_options(enrollment: Enrollment) -> dict[str, Any]:
    """Options for ``navigator.credentials.create()``: a fresh challenge each time."""
    return services.webauthn_registration_options(enrollment.user, enrollment.request)


def confirm_webauthn(enrollment: Enrollment, credential: str, name: str = "") -> Enrolled:
    """Save the security key or passkey once its response to the kept challenge verifies."""
    request, user = enrollment.request, enrollment.user
    return _save(
        enrollment,
        FactorType.WEBAUTHN,
        lambda: services.enroll_webauthn(user, credential, request, name=name),
    )


# --- codes sent (SMS, email) ----------------------------------------------------------------


def send_code(enrollment: Enrollment, factor_type: str, destination: Any) -> str:
    """Send a code to the number (SMS) or the account's address (email); return where to.

    The canonical destination is kept in the session for the pages' confirmation step.
    """
    request, user = enrollment.request, enrollment.user
    sent_to = services.send_enrollment_code(user, factor_type, destination, request)
    login_state.note_code_sent(request, user, factor_type, sent_to)
    return sent_to


def code_sent_to(enrollment: Enrollment, factor_type: str) -> str | None:
    """Where this session sent the user's enrollment code of ``factor_type``, if anywhere."""
    return login_state.code_sent_to(enrollment.request, enrollment.user, factor_type)


def clean_destination(enrollment: Enrollment, factor_type: str, value: Any) -> str:
    return get_factor(factor_type).clean_destination(value, enrollment.user)


def confirm_code(
    enrollment: Enrollment, factor_type: str, destination: str, code: str, name: str = ""
) -> Enrolled:
    """Save the SMS or email factor once the code sent to ``destination`` comes back."""
    request, user = enrollment.request, enrollment.user
    with _restarting(enrollment):
        device = services.enroll_code_factor(
            user,
            factor_type,
            destination,
            code,
            request,
            name=name,
            then=lambda: _close_pending(enrollment, factor_type),
        )
    login_state.forget_code_sent(request)
    return _finish(enrollment, factor_type, device)


# --- the end of every enrollment ------------------------------------------------------------


def _save(enrollment: Enrollment, factor_type: str, create: Callable[[], FactorModel]) -> Enrolled:
    with _restarting(enrollment), transaction.atomic():
        device = create()
        _close_pending(enrollment, factor_type)
    return _finish(enrollment, factor_type, device)


@contextmanager
def _restarting(enrollment: Enrollment) -> Iterator[None]:
    """A pending login that ended while the factor was being added must sign in again."""
    try:
        yield
    except errors.ChallengeExpired:
        if enrollment.pending:
            login_state.drop(enrollment.request)
        raise


def _close_pending(enrollment: Enrollment, factor_type: str) -> None:
    """Inside the enrollment's transaction: refuse if the pending login ended meanwhile."""
    if not enrollment.pending:
        return
    challenge_id = login_state.get_pending(enrollment.request).challenge_id
    if not services.finish_enrollment(enrollment.user, challenge_id, factor_type):
        raise errors.ChallengeExpired()


def _finish(enrollment: Enrollment, factor_type: str, device: FactorModel) -> Enrolled:
    """After a factor is saved: sign a pending login in; the first recovery codes, if any."""
    request, user = enrollment.request, enrollment.user
    codes = services.recovery_codes_after_enrollment(user, request)
    login_state.offer_sign_out(request)
    if enrollment.pending:
        next_url = signin.complete(request, user, factor_type, device)
        return Enrolled(factor_type, device, codes, next_url)
    # Confirming the new factor proved it is in the user's hands, just now.
    login_state.mark_verified(request, factor_type)
    return Enrolled(factor_type, device, codes)
