from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from .. import errors
from ..flows import manage
from ..login_state import safe_next
from . import confirmations
from .mixins import RecentAuthRequiredMixin

CODES_TEMPLATE = "mfa_app/recovery_codes.html"


def render_recovery_codes(request: HttpRequest, codes: list[str], next_url: str) -> HttpResponse:
    """Show freshly generated codes, once: they are never stored in readable form."""
    response = render(
        request,
        CODES_TEMPLATE,
        {"codes": codes, "codes_text": "\n".join(codes) + "\n", "next": next_url},
    )
    response["Cache-Control"] = "no-store"
    return response


class RecoveryCodesDoneView(View):
    """The "I have saved them" confirmation: continue to where the user was going."""

    def post(self, request: HttpRequest) -> HttpResponse:
        next_url = safe_next(request, request.POST.get("next")) or reverse("mfa_app:security")
        if not request.POST.get("saved"):
            messages.warning(
                request,
                _("If you did not save your recovery codes, generate new ones from this page."),
            )
            return HttpResponseRedirect(reverse("mfa_app:security"))
        return HttpResponseRedirect(next_url)


class RegenerateRecoveryCodesView(RecentAuthRequiredMixin, View):
    template_name = "mfa_app/regenerate_recovery_codes.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"policy": self.policy})

    def post(self, request: HttpRequest, *args: Any) -> HttpResponse:
        try:
            codes = manage.regenerate_recovery_codes(request)
        except errors.RecoveryCodesDisabled as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("mfa_app:security"))
        confirmations.recovery_codes_regenerated(request)
        return render_recovery_codes(request, codes, reverse("mfa_app:security"))
