"""A signed-in user proving it is them again: a step-up challenge, or re-authentication.

A step-up's wrong answers count on one challenge kept in the session; when it ends without
success the session is signed out (``challenge.end``), so a stolen session cannot keep guessing.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import errors, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..models import Challenge, FactorType
from ..policy import EffectivePolicy, policy_for
from .challenge import STEP_UP, OpenChallenge

NO_FACTOR = _("You have no factor to confirm it is you with: use your password instead.")


def mfa_verified(
    request: HttpRequest, max_age: int | None = None, factors: Iterable[str] | None = None
) -> bool:
    """Whether this session passed MFA within ``max_age`` seconds with one of ``factors``."""
    at, factor_type = login_state.verified(request)
    if at is None:
        return False
    if max_age is not None and login_state.now() - at > max_age:
        return False
    return factors is None or factor_type in factors


def step_up_methods(
    user: Any, factors: Iterable[str] | None = None, policy: EffectivePolicy | None = None
) -> list[services.ChallengeMethod]:
    """The ways ``user`` can step up; recovery codes only when no factor is demanded."""
    methods = services.challenge_methods(user, policy)
    if factors is None:
        return methods
    return [m for m in methods if m.factor_type in factors]


def confirm_methods(user: Any) -> tuple[list[str], list[services.ChallengeMethod]]:
    """How ``user`` can confirm it is them again, recovery codes aside (a routine confirmation
    should not spend one): the factor types whose typed code ``reauthenticate`` checks, and
    the other ways, which need a step-up (a key, or a code sent first)."""
    typed: list[str] = []
    others = []
    for method in step_up_methods(user):
        factor = get_factor(method.factor_type)
        if factor.is_fallback:
            continue
        if factor.typed_answer and not factor.per_device:
            typed.append(method.factor_type)
        else:
            others.append(method)
    return typed, others


def open_step_up(request: HttpRequest, factors: Iterable[str] | None = None) -> OpenChallenge:
    """The signed-in user's step-up challenge, answerable with one of ``factors`` (``None``: any).

    Raises ``FactorNotAllowed`` when the user has no such factor: stepping up would only loop.
    The challenge's record is opened (or the session's open one found) when first used.
    """
    user = request.user
    policy = policy_for(user)
    methods = step_up_methods(user, factors, policy)
    if not methods:
        raise errors.FactorNotAllowed(str(NO_FACTOR))
    opened = OpenChallenge(request, STEP_UP, user, policy, methods)
    opened.opener = lambda: _open_record(request, user)
    return opened


def current_challenge_id(request: HttpRequest) -> str | None:
    """The step-up challenge this session is answering, if it opened one."""
    return login_state.step_up_challenge_id(request)


def passed_meanwhile(request: HttpRequest, challenge_id: str) -> bool:
    """Whether ``challenge_id`` was passed (a double submit: the first answer won)."""
    return services.was_passed(request.user, challenge_id)


def _open_record(request: HttpRequest, user: Any) -> tuple[str, float]:
    """The step-up challenge this session opened and did not pass, or a new one.

    Raises ``LockedOut`` or ``ChallengeExpired`` when the open one ended without success.
    """
    try:
        challenge = Challenge.objects.filter(
            pk=login_state.step_up_challenge_id(request), user=user, verified_at__isnull=True
        ).first()
    except (ValidationError, ValueError, TypeError):
        challenge = None
    if challenge is not None and challenge.failures >= app_settings.MAX_ATTEMPTS:
        raise errors.LockedOut()
    if challenge is not None and challenge.expires_at.timestamp() <= login_state.now():
        if challenge.failures:
            # Waiting out the clock must not wipe the wrong guesses.
            raise errors.ChallengeExpired()
        challenge = None
    if challenge is None:
        challenge = services.start_challenge(user, request, STEP_UP)
        login_state.open_step_up(request, str(challenge.pk))
    return str(challenge.pk), challenge.expires_at.timestamp()


def reauthenticate(request: HttpRequest, *, password: str = "", code: str = "") -> None:
    """Confirm it is still the signed-in user: their password, or a code from their app.

    Raises ``ReauthenticationFailed`` (with ``attempts_left``), ``RateLimited`` (a code, while
    the user's MFA waits), or ``LockedOut`` once this session failed ``MFA_MAX_ATTEMPTS`` times:
    whoever holds it cannot keep guessing, so it is signed out.
    """
    if services.check_identity(request.user, password=password, code=code):
        # A code from the authenticator app is a second factor, not just a password.
        second_factor = FactorType.TOTP if code and not password else None
        login_state.reauthenticated(request, with_second_factor=second_factor)
        return
    failures = login_state.count_reauthentication_failure(request)
    if failures >= app_settings.MAX_ATTEMPTS:
        logout(request)
        raise errors.LockedOut()
    raise errors.ReauthenticationFailed(attempts_left=app_settings.MAX_ATTEMPTS - failures)
