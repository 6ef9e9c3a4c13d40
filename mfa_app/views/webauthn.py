"""Pages for security keys and passkeys; the browser side is mfa_app/static/mfa_app/webauthn.js."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import View

from .. import errors
from ..factors.webauthn import MAX_RESPONSE_LENGTH, MESSAGES
from ..flows import enrollment
from ..models import FactorType
from .enroll import EnrollmentMixin

# Without JavaScript (or WebAuthn) the hidden field arrives empty.
NO_RESPONSE = _(
    "Use your security key or passkey first. This needs JavaScript and a browser that "
    "supports security keys."
)


def response_field(required_message: Any = NO_RESPONSE) -> forms.CharField:
    return forms.CharField(
        widget=forms.HiddenInput,
        max_length=MAX_RESPONSE_LENGTH,
        error_messages={"required": required_message, "max_length": MESSAGES["malformed"]},
    )


PASSKEY_NAME = _("Passkey")


class WebAuthnEnrollForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=64,
        required=False,
        help_text=_(
            "So you can tell your keys apart, such as “MacBook Touch ID” or “Blue YubiKey”."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    passkey = forms.BooleanField(
        label=_("Use as a passkey (sign in without a password)"),
        required=False,
        help_text=_(
            "Your device keeps the passkey and asks for your fingerprint, face, PIN or screen "
            "lock each time, so it can sign you in on its own."
        ),
    )
    credential = response_field()

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


class WebAuthnAnswerForm(forms.Form):
    """The challenge form for a security key: the assertion's JSON arrives as the ``code``."""

    code = response_field()


class WebAuthnEnrollView(EnrollmentMixin, View):
    template_name = "mfa_app/enroll_webauthn.html"
    factor_type = FactorType.WEBAUTHN

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(WebAuthnEnrollForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebAuthnEnrollForm(request.POST)
        if form.is_valid():
            name = form.cleaned_data["name"] or (
                str(PASSKEY_NAME) if form.cleaned_data["passkey"] else ""
            )
            try:
                enrolled = enrollment.confirm_webauthn(
                    self.enrollment, form.cleaned_data["credential"], name
                )
            except errors.ChallengeExpired as exc:
                return self.restart(exc)
            except errors.MFAError as exc:
                form.add_error(None, exc.message)
            else:
                return self.finish(enrolled)
        return self.render(form)

    def render(self, form: WebAuthnEnrollForm) -> HttpResponse:
        # A fresh challenge for every page shown: the one just answered (or not) is spent.
        options = enrollment.webauthn_options(self.enrollment)
        context = {"form": form, "webauthn_options": options, "pending": self.pending}
        status = 400 if form.errors else 200
        response = render(self.request, self.template_name, context, status=status)
        response["Cache-Control"] = "no-store"
        return response
