from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from .. import errors, login_state, services
from ..conf import app_settings
from ..decorators import STEP_UP_KEY, read_factors, step_up_methods, step_up_query
from ..factors import get_factor
from ..models import Challenge
from ..policy import policy_for
from .challenge import ChallengeBase
from .recovery import render_recovery_codes

STEP_UP = "step_up"


def step_up_challenge(request: HttpRequest, user: Any) -> Challenge:
    """The step-up challenge this session opened and did not pass, or a new one.

    Raises ``LockedOut`` or ``ChallengeExpired`` when the open one ended without success; the
    caller then signs the session out, so a stolen session cannot keep guessing.
    """
    record = request.session.get(STEP_UP_KEY)
    try:
        challenge = Challenge.objects.filter(
            pk=record.get("challenge_id") if isinstance(record, dict) else None,
            user=user,
            verified_at__isnull=True,
        ).first()
    except (ValidationError, ValueError, TypeError):
        challenge = None
    if challenge is not None and challenge.failures >= app_settings.MAX_ATTEMPTS:
        raise errors.LockedOut()
    if challenge is not None and challenge.expires_at.timestamp() <= login_state._now():
        if challenge.failures:
            # Waiting out the clock must not wipe the wrong guesses.
            raise errors.ChallengeExpired()
        challenge = None
    if challenge is None:
        challenge = services.start_challenge(user, request, STEP_UP)
        request.session[STEP_UP_KEY] = {"challenge_id": str(challenge.pk)}
    return challenge


def step_up_passed(request: HttpRequest, verification: services.Verification) -> None:
    """The signed-in user answered their step-up challenge: note it, under a new session key."""
    request.session.pop(STEP_UP_KEY, None)
    login_state.mark_verified(request, verification.factor_type)
    # More rights, new key: a session id copied before the step-up does not get them.
    request.session.cycle_key()
    if verification.device is not None:
        otp_login(request, verification.device)
    services.note_mfa_passed(request.user, request)


class StepUpView(LoginRequiredMixin, ChallengeBase):
    """Ask a signed-in user for a second factor again before a sensitive page.

    Wrong answers count on one challenge kept in the session; when it ends without success
    (too many wrong codes, or it ran out after a wrong one) the user is signed out, so a
    stolen session cannot keep guessing.
    """

    template_name = "mfa_app/step_up.html"

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        self.user = request.user
        self.factors = read_factors(request.GET.get("factors"))
        self.step_up_methods = step_up_methods(self.user, self.factors)
        if not self.step_up_methods:
            return self.unavailable()
        try:
            challenge = step_up_challenge(request, self.user)
        except (errors.LockedOut, errors.ChallengeExpired) as exc:
            return self.ended(exc.message)
        self.challenge_id = str(challenge.pk)
        self.expires_at = challenge.expires_at.timestamp()
        return None

    def available_methods(self) -> list[services.ChallengeMethod]:
        return self.step_up_methods

    def next_url(self) -> str:
        request = self.request
        return login_state.safe_next(request, request.GET.get("next")) or resolve_url(
            settings.LOGIN_REDIRECT_URL
        )

    def method_query(self, method: services.ChallengeMethod) -> str:  # type: ignore[override]
        # Switching method or resending keeps where the user is going, and what counts.
        next_url = login_state.safe_next(self.request, self.request.GET.get("next"))
        base, query = super().method_query(method), urlencode(step_up_query(next_url, self.factors))
        return f"{base}&{query}" if query else base

    def post(self, request: HttpRequest) -> HttpResponse:
        if self.tampered:
            form = self.make_form(request.POST)
            form.add_error(None, _("This page needs another way to confirm it's you."))
            return self.render(form)
        return super().post(request)

    def succeeded(self, verification: services.Verification) -> HttpResponse:
        request = self.request
        step_up_passed(request, verification)
        if verification.new_recovery_codes:
            return render_recovery_codes(request, verification.new_recovery_codes, self.next_url())
        return HttpResponseRedirect(self.next_url())

    def ended(self, message: str) -> HttpResponse:
        if self.passed_meanwhile():
            # A second submit of the same answer (a double click): the first one won.
            return HttpResponseRedirect(self.next_url())
        # Whoever holds this session could not prove it is the user: they must sign in again.
        logout(self.request)
        messages.error(self.request, message)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))

    def passed_meanwhile(self) -> bool:
        challenge_id = getattr(self, "challenge_id", None)
        return Challenge.objects.filter(
            pk=challenge_id, user=self.user, verified_at__isnull=False
        ).exists()

    def unavailable(self) -> HttpResponse:
        """Say which factor this page needs and where to add one, instead of a loop."""
        policy = policy_for(self.user)
        wanted = self.factors or [
            t for t in policy.allowed_factors if not get_factor(t).is_fallback
        ]
        context = {
            "unavailable": True,
            "factor_labels": [get_factor(t).label for t in sorted(wanted)],
            "cancel_url": resolve_url(settings.LOGIN_REDIRECT_URL),
        }
        if any(policy.allows(t) for t in wanted):
            context["security_url"] = reverse("mfa_app:security")
        return render(self.request, self.template_name, context, status=403)

    def render(self, form: Any, **extra: Any) -> HttpResponse:
        extra.setdefault("cancel_url", resolve_url(settings.LOGIN_REDIRECT_URL))
        return super().render(form, **extra)
