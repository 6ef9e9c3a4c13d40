from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views import View

from .. import errors, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..forms import CodeForm
from ..models import FactorType
from .recovery import render_recovery_codes
from .webauthn import WebAuthnAnswerForm


def restart_login(request: HttpRequest, message: str) -> HttpResponseRedirect:
    login_state.drop(request)
    messages.error(request, message)
    return HttpResponseRedirect(resolve_url(app_settings.login_url))


class ChallengeView(View):
    """Ask a pending login for a code from one of the user's factors."""

    template_name = "mfa_app/challenge.html"
    mfa_pending_allowed = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = login_state.get_pending(request)
        if pending is None or pending.reason != login_state.CHALLENGE:
            target = settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else None
            return HttpResponseRedirect(resolve_url(target or app_settings.login_url))
        self.pending = pending
        self.user = login_state.pending_user(request)
        if pending.expired or self.user is None:
            return restart_login(request, errors.MESSAGES["challenge_expired"])
        self.factor_types = services.challenge_factor_types(self.user)
        if not self.factor_types:
            return restart_login(request, errors.MESSAGES["factor_not_allowed"])
        requested = request.POST.get("factor") or request.GET.get("factor")
        self.factor_type = requested if requested in self.factor_types else self.factor_types[0]
        self.tampered = requested is not None and requested not in self.factor_types
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(self.make_form())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.make_form(request.POST)
        if self.tampered:
            form.add_error(None, errors.MESSAGES["factor_not_allowed"])
            return self.render(form)
        if not form.is_valid():
            return self.render(form)
        try:
            verification = services.verify_challenge(
                self.user,
                self.pending.challenge_id,
                self.factor_type,
                form.cleaned_data["code"],
                request,
            )
        except errors.InvalidCode as exc:
            form.add_error("code", exc.message)
            return self.render(form, attempts_left=exc.extra.get("attempts_left"))
        except (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified) as exc:
            return restart_login(request, exc.message)
        next_url = login_state.complete(
            request, self.user, verification.factor_type, verification.device
        )
        next_url = next_url or resolve_url(settings.LOGIN_REDIRECT_URL)
        if verification.new_recovery_codes:
            return render_recovery_codes(request, verification.new_recovery_codes, next_url)
        return HttpResponseRedirect(next_url)

    def make_form(self, data: Any = None) -> CodeForm | WebAuthnAnswerForm:
        if self.factor_type == FactorType.WEBAUTHN:
            return WebAuthnAnswerForm(data)
        return CodeForm(data, numeric=self.factor_type != services.RECOVERY)

    def render(self, form: CodeForm | WebAuthnAnswerForm, **extra: Any) -> HttpResponse:
        others = [
            {"type": t, "label": get_factor(t).label}
            for t in self.factor_types
            if t != self.factor_type
        ]
        context = {
            "form": form,
            "factor_type": self.factor_type,
            "factor_label": get_factor(self.factor_type).label,
            "other_factors": others,
            "expires_at": int(self.pending.expires_at),
            # Factor-specific setup, such as WebAuthn options with a fresh challenge.
            **services.begin_challenge(
                self.user, self.factor_type, self.request, self.factor_types
            ),
            **extra,
        }
        return render(self.request, self.template_name, context, status=400 if form.errors else 200)


class CancelView(View):
    """Drop the pending login and go back to the login page."""

    mfa_pending_allowed = True
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if login_state.get_pending(request) is not None:
            login_state.drop(request)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))
