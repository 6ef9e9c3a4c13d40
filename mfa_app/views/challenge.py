from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from .. import errors, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..forms import CodeForm
from ..models import FactorType
from ..policy import policy_for
from .recovery import render_recovery_codes
from .webauthn import WebAuthnAnswerForm


def restart_login(request: HttpRequest, message: str) -> HttpResponseRedirect:
    login_state.drop(request)
    messages.error(request, message)
    return HttpResponseRedirect(resolve_url(app_settings.login_url))


def switch_label(method: services.ChallengeMethod, current: str) -> str:
    """The link text that switches the challenge page to ``method``."""
    if method.factor_type == services.RECOVERY:
        return _("Use a recovery code")
    if method.factor_type == FactorType.WEBAUTHN:
        return _("Use your security key or passkey")
    if method.factor_type == FactorType.SMS:
        return _("Text a code to %(to)s") % {"to": method.destination}
    if method.factor_type == FactorType.EMAIL:
        return _("Email a code to %(to)s") % {"to": method.destination}
    if current == services.RECOVERY:
        return _("Use a one-time code")
    return _("Use your authenticator app")


class ChallengeBase(View):
    """A challenge page: pick a method, send or build what it needs, check the answer.

    Subclasses say whose challenge it is (``open_challenge``), what happens on success
    (``succeeded``) and when the challenge ends without one (``ended``).
    """

    template_name = "mfa_app/challenge.html"
    user: Any
    challenge_id: str
    expires_at: float

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        """Set ``user``, ``challenge_id`` and ``expires_at``, or return where to go instead."""
        raise NotImplementedError

    def available_methods(self) -> list[services.ChallengeMethod]:
        return services.challenge_methods(self.user)

    def succeeded(self, verification: services.Verification) -> HttpResponse:
        raise NotImplementedError

    def ended(self, message: str) -> HttpResponse:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        elsewhere = self.open_challenge(request)
        if elsewhere is not None:
            return elsewhere
        self.methods = self.available_methods()
        if not self.methods:
            return self.ended(errors.MESSAGES["factor_not_allowed"])
        self.factor_types = list(dict.fromkeys(m.factor_type for m in self.methods))
        self.method, self.tampered = self.chosen_method(request.POST or request.GET)
        self.factor_type = self.method.factor_type
        return super().dispatch(request, *args, **kwargs)

    def chosen_method(self, data: Any) -> tuple[services.ChallengeMethod, bool]:
        """The method asked for, or the primary one; ``True`` if the ask was for none of ours."""
        requested = data.get("factor")
        if requested is None:
            return self.methods[0], False
        device_id = data.get("device", "")
        for method in self.methods:
            if method.factor_type == requested and method.device_id in ("", device_id):
                return method, False
        return self.methods[0], True

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(self.make_form())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.make_form(request.POST)
        if self.tampered:
            form.add_error(None, errors.MESSAGES["factor_not_allowed"])
            return self.render(form)
        if "resend" in request.POST and self.method.device is not None:
            return self.resend(form)
        if not form.is_valid():
            return self.render(form)
        try:
            verification = services.verify_challenge(
                self.user,
                self.challenge_id,
                self.factor_type,
                form.cleaned_data["code"],
                request,
                self.factor_types,
            )
        except errors.InvalidCode as exc:
            form.add_error("code", exc.message)
            return self.render(form, attempts_left=exc.extra.get("attempts_left"))
        except errors.RateLimited as exc:
            # Nothing was checked: the user (or this IP) must wait, or staff must unlock.
            form.add_error(None, wait_message(exc))
            return self.render(form, status=429)
        except (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified) as exc:
            return self.ended(exc.message)
        return self.succeeded(verification)

    def resend(self, form: CodeForm | WebAuthnAnswerForm) -> HttpResponse:
        """Send a new code to the chosen phone or address; the previous code stops working."""
        try:
            services.send_challenge_code(
                self.user,
                self.challenge_id,
                self.factor_type,
                self.method.device_id,
                self.request,
            )
        except (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified) as exc:
            return self.ended(exc.message)
        except errors.MFAError as exc:
            return self.render(self.make_form(), send_problem=resend_message(exc))
        messages.success(
            self.request, _("We sent a new code to %(to)s.") % {"to": self.method.destination}
        )
        return HttpResponseRedirect(f"{self.request.path}?{self.method_query(self.method)}")

    def make_form(self, data: Any = None) -> CodeForm | WebAuthnAnswerForm:
        if self.factor_type == FactorType.WEBAUTHN:
            return WebAuthnAnswerForm(data)
        return CodeForm(data, numeric=self.factor_type != services.RECOVERY)

    @staticmethod
    def method_query(method: services.ChallengeMethod) -> str:
        params = {"factor": method.factor_type}
        if method.device is not None:
            params["device"] = method.device_id
        return urlencode(params)

    def render(self, form: CodeForm | WebAuthnAnswerForm, **extra: Any) -> HttpResponse:
        others = [
            {"query": self.method_query(m), "label": switch_label(m, self.factor_type)}
            for m in self.methods
            if m != self.method
        ]
        # Factor-specific setup: WebAuthn options with a fresh challenge, or a code sent.
        try:
            setup = services.begin_challenge(
                self.user,
                self.factor_type,
                self.request,
                self.factor_types,
                challenge_id=self.challenge_id,
                device_id=self.method.device_id,
                # Only a first view sends a code; after a wrong answer the user may resend.
                send=self.request.method == "GET",
            )
        except (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified) as exc:
            # Ended by a concurrent request (another tab) since this one started.
            return self.ended(exc.message)
        if setup.get("send_error"):
            extra.setdefault(
                "send_problem", resend_message(setup["send_error"], setup.get("retry_after"))
            )
        context = {
            "form": form,
            "method": self.method,
            "factor_type": self.factor_type,
            "factor_label": get_factor(self.factor_type).label,
            "other_factors": others,
            "expires_at": int(self.expires_at),
            **setup,
            **extra,
        }
        failed = form.errors or context.get("send_problem")
        status = context.pop("status", None) or (400 if failed else 200)
        return render(self.request, self.template_name, context, status=status)


class ChallengeView(ChallengeBase):
    """Ask a pending login for a code from one of the user's factors."""

    mfa_pending_allowed = True

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        pending = login_state.get_pending(request)
        if pending is None or pending.reason != login_state.CHALLENGE:
            target = settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else None
            return HttpResponseRedirect(resolve_url(target or app_settings.login_url))
        self.user = login_state.pending_user(request)
        if pending.expired or self.user is None:
            return restart_login(request, errors.MESSAGES["challenge_expired"])
        self.challenge_id, self.expires_at = pending.challenge_id, pending.expires_at
        self.policy = policy_for(self.user)
        return None

    def available_methods(self) -> list[services.ChallengeMethod]:
        return services.challenge_methods(self.user, self.policy)

    def succeeded(self, verification: services.Verification) -> HttpResponse:
        request = self.request
        remember = request.POST.get("remember") == "1" and self.policy.trusted_devices_enabled
        next_url = login_state.complete(
            request, self.user, verification.factor_type, verification.device
        )
        if remember:
            services.remember_device(self.user, request)
        next_url = next_url or resolve_url(settings.LOGIN_REDIRECT_URL)
        if verification.new_recovery_codes:
            return render_recovery_codes(request, verification.new_recovery_codes, next_url)
        return HttpResponseRedirect(next_url)

    def ended(self, message: str) -> HttpResponse:
        return restart_login(self.request, message)

    def render(self, form: Any, **extra: Any) -> HttpResponse:
        if self.policy.trusted_devices_enabled:
            extra.setdefault("remember_days", self.policy.trusted_device_days)
            extra.setdefault("remember_checked", self.request.POST.get("remember") == "1")
        return super().render(form, **extra)


def wait_message(error: errors.RateLimited) -> str:
    """Why the answer was not checked, and until when."""
    until = error.extra.get("locked_until")
    seconds = error.extra.get("retry_after") or 0
    if until is None:
        return error.message
    if seconds <= 90:
        wait = ngettext(
            "Try again in %(seconds)d second.", "Try again in %(seconds)d seconds.", seconds
        ) % {"seconds": seconds}
        return f"{error.message} {wait}"
    when = formats.date_format(timezone.localtime(until), "SHORT_DATETIME_FORMAT")
    return _("%(message)s Next try: %(when)s.") % {"message": error.message, "when": when}


def resend_message(error: errors.MFAError | str, retry_after: int | None = None) -> str:
    """Say why no code was sent and, when waiting helps, for how long."""
    if isinstance(error, errors.MFAError):
        retry_after = error.extra.get("retry_after")
        error = error.message
    if not retry_after:
        return str(error)
    if retry_after <= 90:
        return ngettext(
            "You can get a new code in %(seconds)d second.",
            "You can get a new code in %(seconds)d seconds.",
            retry_after,
        ) % {"seconds": retry_after}
    later = timeuntil(timezone.now() + timedelta(seconds=retry_after))
    return _(
        "No more codes can be sent for now. Try again in %(time)s, or use another way to sign in."
    ) % {"time": later}


class CancelView(View):
    """Drop the pending login and go back to the login page."""

    mfa_pending_allowed = True
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if login_state.get_pending(request) is not None:
            login_state.drop(request)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))
