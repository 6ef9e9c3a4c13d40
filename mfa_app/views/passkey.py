"""Sign in with a passkey: a discoverable credential, user verification included, is the login.

GET gives the options for ``navigator.credentials.get()`` as JSON (a fresh challenge, kept in
the session); the login page's form (mfa_app/includes/passkey_login.html) posts the assertion
as ``code``, with its CSRF token, and webauthn.js does the part in between.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View

from .. import errors, login_state, services
from ..conf import app_settings
from ..flows import challenge, passkey_offer
from .webauthn import response_field

NO_PASSKEY = _(
    "Use your passkey first. This needs JavaScript and a browser that supports passkeys."
)


class PasskeyLoginForm(forms.Form):
    code = response_field(NO_PASSKEY)


class PasskeyLoginView(View):
    # A pending login may switch to a passkey: it satisfies MFA by itself.
    mfa_pending_allowed = True
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        response = JsonResponse(services.passkey_login_options(request))
        response["Cache-Control"] = "no-store"
        return response

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasskeyLoginForm(request.POST)
        next_url = login_state.safe_next(request, request.POST.get("next"))
        if not form.is_valid():
            error = next(iter(form.errors.get("code") or form.non_field_errors()), NO_PASSKEY)
            return self.refuse(str(error), next_url)
        try:
            challenge.sign_in_with_passkey(request, form.cleaned_data["code"])
        except errors.MFAError as exc:
            return self.refuse(exc.message, next_url)
        return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))

    def refuse(self, message: str, next_url: str) -> HttpResponseRedirect:
        # Back to the login page, the message shown there; the session stays as it was.
        messages.error(self.request, message)
        url = resolve_url(app_settings.login_url)
        if next_url:
            url += ("&" if "?" in url else "?") + urlencode({"next": next_url})
        return HttpResponseRedirect(url)


class PasskeyOfferView(LoginRequiredMixin, View):
    """After a password sign-in: "Create a passkey" or "Not now" (remembered for a while)."""

    template_name = "mfa_app/passkey_offer.html"
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        next_url = self.next_url()
        if not passkey_offer.should_offer(request.user):
            return HttpResponseRedirect(next_url)
        passkey_offer.shown(request)
        context = {
            "next": next_url,
            "create_url": resolve_url("mfa_app:enroll_webauthn"),
            "snooze_days": app_settings.PASSKEY_OFFER_SNOOZE_DAYS,
        }
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest) -> HttpResponse:
        passkey_offer.decline(request, request.user)
        return HttpResponseRedirect(self.next_url())

    def next_url(self) -> str:
        asked = self.request.POST.get("next") or self.request.GET.get("next")
        return login_state.safe_next(self.request, asked) or resolve_url(
            settings.LOGIN_REDIRECT_URL
        )
