from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views import View

from .. import errors
from ..conf import app_settings
from ..factors import get_factor
from ..flows import enrollment
from ..forms import CodeForm
from ..models import FactorType
from . import confirmations
from .mixins import redirect_to_reauth
from .recovery import render_recovery_codes


class EnrollmentMixin:
    """Open to a pending login that must enroll, and to signed-in users adding a factor."""

    mfa_pending_allowed = True
    factor_type: str | None = None
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            opened = enrollment.open_enrollment(request, self.factor_type)
        except errors.ChallengeExpired:
            return HttpResponseRedirect(resolve_url(app_settings.login_url))
        except errors.FactorNotAllowed as exc:
            raise Http404 from exc
        except errors.ReauthenticationRequired as exc:
            # Adding a factor to a signed-in account needs a fresh proof of identity.
            return redirect_to_reauth(request, exc)
        if opened is None:
            return HttpResponseRedirect(resolve_url(app_settings.login_url))
        self.enrollment = opened
        self.user, self.pending, self.policy = opened.user, opened.pending, opened.policy
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def restart(self, exc: errors.MFAError) -> HttpResponse:
        """The pending login ended while the factor was being added (the flow dropped it)."""
        messages.error(self.request, exc.message)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))

    def finish(self, enrolled: enrollment.Enrolled) -> HttpResponse:
        """After a factor is saved: go on where the sign-in was going, after new recovery codes."""
        confirmations.factor_added(self.request, enrolled.factor_type, enrolled.device)
        next_url = enrolled.next_url
        if not next_url:
            next_url = resolve_url("/") if self.pending else reverse("mfa_app:security")
        if enrolled.recovery_codes:
            return render_recovery_codes(self.request, enrolled.recovery_codes, next_url)
        return HttpResponseRedirect(next_url)


class EnrollView(EnrollmentMixin, View):
    template_name = "mfa_app/enroll.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        factors = [
            {
                "type": choice.factor.type,
                "label": choice.factor.label,
                "icon": choice.factor.icon,
                "description": choice.factor.description,
                "needs": choice.factor.needs,
                "recommended": choice.recommended,
                "recommended_without_webauthn": choice.recommended_without_webauthn,
                "url": reverse(choice.factor.enroll_url_name),
            }
            for choice in enrollment.choices(self.enrollment)
        ]
        # A user under REQUIRED within the policy's grace period may postpone enrollment.
        days_left = enrollment.grace_days_left(self.enrollment)
        if len(factors) == 1 and not days_left:
            return HttpResponseRedirect(factors[0]["url"])
        context = {"factors": factors, "pending": self.pending, "days_left": days_left}
        return render(request, self.template_name, context)


class EnrollLaterView(EnrollmentMixin, View):
    """Postpone enrollment (grace period): the pending login goes on without MFA, this time."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            next_url, days_left = enrollment.postpone(self.enrollment)
        except enrollment.NotPending:
            return HttpResponseRedirect(reverse("mfa_app:security"))
        except errors.GracePeriodOver as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("mfa_app:enroll"))
        confirmations.enrollment_postponed(request, days_left)
        return HttpResponseRedirect(next_url or resolve_url("/"))


class TOTPEnrollView(EnrollmentMixin, View):
    template_name = "mfa_app/enroll_totp.html"
    factor_type = FactorType.TOTP

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(self.code_form())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.code_form(request.POST)
        if form.is_valid():
            try:
                enrolled = enrollment.confirm_totp(self.enrollment, form.cleaned_data["code"])
            except errors.ChallengeExpired as exc:
                return self.restart(exc)
            except enrollment.NoSecretOffered:
                # The session lost the secret it showed: a new one is shown with the error.
                form.add_error("code", errors.MESSAGES["invalid_code"])
            except errors.MFAError as exc:
                form.add_error("code", exc.message)
            else:
                return self.finish(enrolled)
            form.forget_code()
        return self.render(form)

    def code_form(self, data: Any = None) -> CodeForm:
        return CodeForm(data, digits=get_factor(self.factor_type).answer_digits)

    def render(self, form: CodeForm) -> HttpResponse:
        setup = enrollment.totp_setup(self.enrollment)
        context = {"form": form, "setup": setup, "pending": self.pending}
        response = render(
            self.request, self.template_name, context, status=400 if form.errors else 200
        )
        response["Cache-Control"] = "no-store"
        return response
