from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views import View

from .. import crypto, errors, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..forms import CodeForm
from ..models import FactorType
from ..policy import policy_for
from .mixins import redirect_to_reauth
from .recovery import render_recovery_codes

SECRET_SESSION_KEY = "_mfa_totp_secret"  # noqa: S105 (a session key name)
ENROLL_URLS = {
    FactorType.TOTP: "mfa_app:enroll_totp",
    FactorType.WEBAUTHN: "mfa_app:enroll_webauthn",
    FactorType.SMS: "mfa_app:enroll_sms",
    FactorType.EMAIL: "mfa_app:enroll_email",
}


def offered_totp_secret(request: HttpRequest, user: Any, *, create: bool = True) -> str | None:
    """The secret offered to ``user``, kept server side (encrypted) until they confirm it.

    A new one is made and kept unless ``create`` is false (then ``None`` if none was offered).
    """
    stored = request.session.get(SECRET_SESSION_KEY)
    if isinstance(stored, dict) and stored.get("user") == str(user.pk):
        try:
            return crypto.decrypt(stored["secret"])
        except (crypto.DecryptionError, AttributeError, KeyError, TypeError, ValueError):
            pass  # a session from before a key rotation, or tampered: offer a new one
    if not create:
        return None
    secret = services.new_totp_secret()
    request.session[SECRET_SESSION_KEY] = {"user": str(user.pk), "secret": crypto.encrypt(secret)}
    return secret


class EnrollmentSteps:
    """How an enrollment ends, for the pages and the JSON API: set ``user`` and ``pending``."""

    mfa_pending_allowed = True
    factor_type: str | None = None
    request: HttpRequest
    user: Any
    pending: bool

    def close_pending(self, factor_type: str) -> None:
        """Inside the enrollment's transaction: refuse if the pending login ended meanwhile."""
        if self.pending:
            challenge_id = login_state.get_pending(self.request).challenge_id
            if not services.finish_enrollment(self.user, challenge_id, factor_type):
                raise errors.ChallengeExpired()

    def complete_enrollment(self, factor_type: str, device: Any) -> tuple[list[str], str]:
        """After a factor is saved: sign a pending login in; the first recovery codes, if any.

        Returns the codes and the pending login's safe ``next`` URL (``""`` if none).
        """
        codes = services.recovery_codes_after_enrollment(self.user, self.request)
        if self.pending:
            return codes, login_state.complete(self.request, self.user, factor_type, device)
        # Confirming the new factor proved it is in the user's hands, just now.
        login_state.mark_verified(self.request, factor_type)
        return codes, ""


class EnrollmentMixin(EnrollmentSteps):
    """Open to a pending login that must enroll, and to signed-in users adding a factor."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = login_state.get_pending(request)
        if request.user.is_authenticated:
            self.user, self.pending = request.user, False
        elif pending is not None and pending.reason == login_state.ENROLL:
            self.user, self.pending = login_state.pending_user(request), True
            if self.user is None:
                login_state.drop(request)
                return HttpResponseRedirect(resolve_url(app_settings.login_url))
        else:
            return HttpResponseRedirect(resolve_url(app_settings.login_url))
        self.policy = policy_for(self.user)
        if self.policy.disabled or (self.factor_type and not self.policy.allows(self.factor_type)):
            raise Http404
        # Adding a factor to a signed-in account needs a fresh proof of identity.
        if not self.pending and not login_state.recently_authenticated(request):
            return redirect_to_reauth(request)
        return super().dispatch(request, *args, **kwargs)

    def restart(self, exc: errors.MFAError) -> HttpResponse:
        login_state.drop(self.request)
        messages.error(self.request, exc.message)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))

    def finish(self, factor_type: str, device: Any) -> HttpResponse:
        """After a factor is saved: sign a pending login in, then show new recovery codes."""
        codes, next_url = self.complete_enrollment(factor_type, device)
        if not next_url:
            next_url = resolve_url("/") if self.pending else reverse("mfa_app:security")
        if codes:
            return render_recovery_codes(self.request, codes, next_url)
        return HttpResponseRedirect(next_url)


class EnrollView(EnrollmentMixin, View):
    template_name = "mfa_app/enroll.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        choices = [
            (t, reverse(url))
            for t, url in ENROLL_URLS.items()
            if self.policy.allows(t) and get_factor(t).can_enroll(self.user)
        ]
        # A user under REQUIRED within the policy's grace period may postpone enrollment.
        days_left = services.grace_days_left(self.user, self.policy) if self.pending else 0
        if len(choices) == 1 and not days_left:
            return HttpResponseRedirect(choices[0][1])
        labels = dict(FactorType.choices)
        factors = [{"label": labels[t], "url": url} for t, url in choices]
        context = {"factors": factors, "pending": self.pending, "days_left": days_left}
        return render(request, self.template_name, context)


class EnrollLaterView(EnrollmentMixin, View):
    """Postpone enrollment (grace period): the pending login goes on without MFA, this time."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.pending:
            return HttpResponseRedirect(reverse("mfa_app:security"))
        try:
            services.postpone_enrollment(self.user, request)
        except errors.GracePeriodOver as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("mfa_app:enroll"))
        next_url = login_state.complete_without_mfa(request, self.user)
        return HttpResponseRedirect(next_url or resolve_url("/"))


class TOTPEnrollView(EnrollmentMixin, View):
    template_name = "mfa_app/enroll_totp.html"
    factor_type = FactorType.TOTP

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    device = services.enroll_totp(
                        self.user, self.secret(), form.cleaned_data["code"], request
                    )
                    self.close_pending(FactorType.TOTP)
            except errors.ChallengeExpired as exc:
                return self.restart(exc)
            except errors.MFAError as exc:
                form.add_error("code", exc.message)
            else:
                request.session.pop(SECRET_SESSION_KEY, None)
                return self.finish(FactorType.TOTP, device)
        return self.render(form)

    def secret(self) -> str:
        return offered_totp_secret(self.request, self.user)

    def render(self, form: CodeForm) -> HttpResponse:
        setup = services.totp_setup(self.user, self.secret(), self.request)
        context = {"form": form, "setup": setup, "pending": self.pending}
        response = render(
            self.request, self.template_name, context, status=400 if form.errors else 200
        )
        response["Cache-Control"] = "no-store"
        return response
