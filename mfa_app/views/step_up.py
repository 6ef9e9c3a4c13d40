from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .. import errors, login_state
from ..conf import app_settings
from ..decorators import read_factors, step_up_query
from ..factors import get_factor
from ..flows import challenge, step_up
from ..policy import policy_for
from .challenge import ChallengeBase
from .recovery import render_recovery_codes


class StepUpView(LoginRequiredMixin, ChallengeBase):
    """Ask a signed-in user for a second factor again before a sensitive page.

    Wrong answers count on one challenge kept in the session; when it ends without success
    (too many wrong codes, or it ran out after a wrong one) the user is signed out, so a
    stolen session cannot keep guessing.
    """

    template_name = "mfa_app/step_up.html"

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        self.factors = read_factors(request.GET.get("factors"))
        try:
            self.opened = step_up.open_step_up(request, self.factors)
        except errors.FactorNotAllowed:
            return self.unavailable()
        try:
            challenge.start(self.opened)
        except challenge.ENDED as exc:
            return self.ended(exc)
        return None

    def next_url(self) -> str:
        request = self.request
        return login_state.safe_next(request, request.GET.get("next")) or resolve_url(
            settings.LOGIN_REDIRECT_URL
        )

    def method_query(self, method: Any) -> str:  # type: ignore[override]
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

    def succeeded(self, passed: challenge.Passed) -> HttpResponse:
        if passed.new_recovery_codes:
            return render_recovery_codes(self.request, passed.new_recovery_codes, self.next_url())
        return HttpResponseRedirect(self.next_url())

    def ended(self, exc: errors.MFAError) -> HttpResponse:
        if isinstance(exc, errors.ChallengeAlreadyVerified):
            # A second submit of the same answer (a double click): the first one won.
            return HttpResponseRedirect(self.next_url())
        # The flow signed the session out: whoever holds it must sign in again.
        messages.error(self.request, exc.message)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))

    def unavailable(self) -> HttpResponse:
        """Say which factor this page needs and where to add one, instead of a loop."""
        policy = policy_for(self.request.user)
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
