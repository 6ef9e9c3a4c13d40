import math
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
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views import View

from .. import clock, errors, services
from ..conf import app_settings
from ..factors import get_factor
from ..flows import challenge
from ..forms import CodeForm
from . import confirmations
from .recovery import render_recovery_codes
from .webauthn import WebAuthnAnswerForm


def restart_login(request: HttpRequest, message: str) -> HttpResponseRedirect:
    """The pending login is over (the flow dropped it): say why, back to the login page."""
    messages.error(request, message)
    return HttpResponseRedirect(resolve_url(app_settings.login_url))


class ChallengeBase(View):
    """A challenge page: pick a method, prepare it (send a code, WebAuthn options), answer it.

    Subclasses say whose challenge it is (``open_challenge``), what the page does after a
    success (``succeeded``) and when the challenge ended without one (``ended``); the flow
    (``mfa_app.flows.challenge``) does the rest.
    """

    template_name = "mfa_app/challenge.html"
    opened: challenge.OpenChallenge

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        """Set ``opened``, or return where to go instead."""
        raise NotImplementedError

    def succeeded(self, passed: challenge.Passed) -> HttpResponse:
        raise NotImplementedError

    def ended(self, exc: errors.MFAError) -> HttpResponse:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        elsewhere = self.open_challenge(request)
        if elsewhere is not None:
            return elsewhere
        data = request.POST or request.GET
        self.method, self.tampered = self.opened.chosen(data.get("factor"), data.get("device", ""))
        self.factor_type = self.method.factor_type
        return super().dispatch(request, *args, **kwargs)

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
            passed = challenge.answer(
                self.opened,
                self.factor_type,
                form.cleaned_data["code"],
                remember=request.POST.get("remember") == "1",
            )
        except errors.InvalidCode as exc:
            form.add_error("code", exc.message)
            if isinstance(form, CodeForm):
                # A wrong code stays wrong: the user types the next one into an empty field.
                form.forget_code()
            return self.render(form, attempts_left=exc.extra.get("attempts_left"))
        except errors.RateLimited as exc:
            # Nothing was checked: the user (or this IP) must wait, or staff must unlock.
            form.add_error(None, wait_message(exc))
            return self.render(form, status=429)
        except challenge.ENDED as exc:
            return self.ended(exc)
        return self.succeeded(passed)

    def resend(self, form: CodeForm | WebAuthnAnswerForm) -> HttpResponse:
        """Send a new code to the chosen phone or address; the previous code stops working."""
        try:
            challenge.send_code(self.opened, self.method)
        except challenge.ENDED as exc:
            return self.ended(exc)
        except errors.MFAError as exc:
            return self.render(self.make_form(), **send_refused(exc))
        messages.success(
            self.request, _("We sent a new code to %(to)s.") % {"to": self.method.destination}
        )
        return HttpResponseRedirect(f"{self.request.path}?{self.method_query(self.method)}")

    def make_form(self, data: Any = None) -> CodeForm | WebAuthnAnswerForm:
        factor = get_factor(self.factor_type)
        if not factor.typed_answer:
            # The browser answers (a security key's assertion): a hidden field carries it.
            return WebAuthnAnswerForm(data)
        return CodeForm(data, numeric=factor.numeric_answer, digits=factor.answer_digits)

    @staticmethod
    def method_query(method: services.ChallengeMethod) -> str:
        params = {"factor": method.factor_type}
        if method.device is not None:
            params["device"] = method.device_id
        return urlencode(params)

    def render(self, form: CodeForm | WebAuthnAnswerForm, **extra: Any) -> HttpResponse:
        others = [
            {
                "query": self.method_query(m),
                "label": get_factor(m.factor_type).switch_label(m, self.factor_type),
            }
            for m in self.opened.methods
            if m != self.method
        ]
        # Factor-specific setup: WebAuthn options with a fresh challenge, or a code sent.
        try:
            # Only a first view sends a code; after a wrong answer the user may resend.
            setup = challenge.prepare(self.opened, self.method, send=self.request.method == "GET")
        except challenge.ENDED as exc:
            # Ended by a concurrent request (another tab) since this one started.
            return self.ended(exc)
        if setup.get("send_error"):
            for key, value in send_refused(setup["send_error"], setup.get("retry_after")).items():
                extra.setdefault(key, value)
        context = {
            "form": form,
            "method": self.method,
            "factor_type": self.factor_type,
            "factor_label": get_factor(self.factor_type).label,
            "other_factors": others,
            "expires_at": int(self.opened.expires_at),
            "code_minutes": code_minutes(),
            **setup,
            **extra,
        }
        failed = form.errors or context.get("send_problem") or context.get("resend_wait")
        status = context.pop("status", None) or (400 if failed else 200)
        return render(self.request, self.template_name, context, status=status)


class ChallengeView(ChallengeBase):
    """Ask a pending login for a code from one of the user's factors."""

    mfa_pending_allowed = True

    def open_challenge(self, request: HttpRequest) -> HttpResponse | None:
        try:
            opened = challenge.open_pending(request, answering=request.POST.get("factor"))
        except errors.MFAError as exc:
            return self.ended(exc)
        if opened is None:
            target = settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else None
            return HttpResponseRedirect(resolve_url(target or app_settings.login_url))
        self.opened = opened
        return None

    def succeeded(self, passed: challenge.Passed) -> HttpResponse:
        next_url = passed.next_url or resolve_url(settings.LOGIN_REDIRECT_URL)
        if passed.recovered:
            confirmations.signed_in_with_recovery_code(
                self.request,
                self.opened.user,
                bool(passed.new_recovery_codes),
                passed.recovery_codes_left,
            )
            messages.warning(self.request, SIGN_OUT_OFFER)
        if passed.new_recovery_codes:
            return render_recovery_codes(self.request, passed.new_recovery_codes, next_url)
        return HttpResponseRedirect(next_url)

    def ended(self, exc: errors.MFAError) -> HttpResponse:
        if isinstance(exc, errors.ChallengeAlreadyVerified):
            # A second submit of the same answer: the first one signed the browser in.
            return HttpResponseRedirect(resolve_url(settings.LOGIN_REDIRECT_URL))
        return restart_login(self.request, exc.message)

    def render(self, form: Any, **extra: Any) -> HttpResponse:
        policy = self.opened.policy
        # Said before it runs out: waiting longer drops the sign-in.
        extra.setdefault("minutes_left", minutes_until(self.opened.expires_at))
        if policy.trusted_devices_enabled:
            extra.setdefault("remember_days", policy.trusted_device_days)
            extra.setdefault("remember_checked", self.request.POST.get("remember") == "1")
        return super().render(form, **extra)


SIGN_OUT_OFFER = _lazy(
    "You signed in with a recovery code. If someone else may have your lost factor, sign out "
    "your other sessions from your account's security page."
)


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


def code_minutes() -> int:
    """How long a sent code works, in whole minutes (at least one)."""
    return max(1, app_settings.CODE_TIMEOUT // 60)


def minutes_until(timestamp: float) -> int:
    """Whole minutes left until ``timestamp``, rounded up (0 once it has passed)."""
    return max(0, math.ceil((timestamp - clock.timestamp()) / 60))


def send_refused(error: errors.MFAError | str, retry_after: int | None = None) -> dict[str, Any]:
    """What a page shows when no code was sent: a short wait is a countdown (``resend_wait``,
    in seconds), not a problem; anything else is a problem (``send_problem``)."""
    if isinstance(error, errors.MFAError):
        retry_after = error.extra.get("retry_after") if retry_after is None else retry_after
        short = isinstance(error, errors.RateLimited)
    else:
        short = True
    if short and retry_after and retry_after <= countdown_limit():
        return {"resend_wait": int(retry_after), "resend_clock": clock_text(int(retry_after))}
    return {"send_problem": resend_message(error, retry_after)}


def countdown_limit() -> int:
    # The cooldown between two sends, or a minute and a half: longer waits are the daily caps.
    return max(90, app_settings.CODE_RESEND_COOLDOWN)


def clock_text(seconds: int) -> str:
    """``42`` → ``"0:42"``, ``125`` → ``"2:05"``: the countdown's own format."""
    return f"{seconds // 60}:{seconds % 60:02d}"


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
    later = timeuntil(clock.now() + timedelta(seconds=retry_after))
    return _(
        "No more codes can be sent for now. Try again in %(time)s, or use another way to sign in."
    ) % {"time": later}


class CancelView(View):
    """Drop the pending login and go back to the login page."""

    mfa_pending_allowed = True
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        challenge.cancel(request)
        return HttpResponseRedirect(resolve_url(app_settings.login_url))
