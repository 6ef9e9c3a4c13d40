from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View

from .. import errors, login_state, services
from ..conf import app_settings
from ..factors import enrollable_factors, factor_for_device, get_factor
from ..flows import manage, step_up
from ..forms import ReauthenticateForm, RenameFactorForm
from ..notifications import describe_browser
from .challenge import ChallengeBase, wait_message
from .mixins import MFAEnabledMixin, RecentAuthRequiredMixin


class SecurityView(LoginRequiredMixin, MFAEnabledMixin, View):
    """The user's own MFA page: factors, recovery codes, and what they can add."""

    template_name = "mfa_app/security.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        policy = self.get_policy(request.user)
        status = services.mfa_status(request.user)
        factors = [
            {
                "device": device,
                "type": factor.type,
                "label": factor.device_label(device),
                "icon": factor.icon,
                "allowed": factor.allowed_by(policy),
            }
            for device in status.factors
            for factor in [factor_for_device(device)]
        ]
        can_add = [
            {"label": factor.add_label, "icon": factor.icon, "url": reverse(factor.enroll_url_name)}
            for factor in enrollable_factors(request.user, policy)
        ]
        trusted_devices = [
            {"device": device, "browser": describe_browser(device.user_agent)}
            for device in services.trusted_devices(request.user)
        ]
        context = {
            "status": status,
            "policy": policy,
            "factors": factors,
            "can_add": can_add,
            "trusted_devices": trusted_devices,
            "this_device": services.this_browsers_trust(request.user, request),
            "offer_sign_out": login_state.sign_out_offered(request),
            "imported_codes": services.imported_codes_notice(request.user),
        }
        return render(request, self.template_name, context)


class RevokeDevicesView(LoginRequiredMixin, View):
    """Forget one remembered device (``device`` in the POST) or all of them."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        device_id = request.POST.get("device") or None
        try:
            count = manage.forget_devices(request, device_id)
        except errors.FactorNotFound as exc:
            raise Http404 from exc
        messages.success(
            request,
            ngettext(
                "%(count)d device will be asked for a second step again.",
                "%(count)d devices will be asked for a second step again.",
                count,
            )
            % {"count": count},
        )
        return HttpResponseRedirect(reverse("mfa_app:security"))


class SignOutOthersView(LoginRequiredMixin, View):
    """Sign the user's other sessions out (SES-06); this one stays signed in."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        manage.sign_out_others(request)
        messages.success(request, _("Your other sessions are signed out."))
        return HttpResponseRedirect(reverse("mfa_app:security"))


class OwnFactorMixin(MFAEnabledMixin):
    """Views about one of the signed-in user's factors; anyone else's is not found."""

    request: HttpRequest

    def get_device(self, factor_type: str, pk: str) -> Any:
        try:
            return manage.own_factor(self.request.user, factor_type, pk)
        except (errors.FactorNotFound, errors.FactorNotAllowed) as exc:
            raise Http404 from exc


class RenameFactorView(LoginRequiredMixin, OwnFactorMixin, View):
    template_name = "mfa_app/rename_factor.html"

    def get(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        device = self.get_device(factor_type, pk)
        return self.render(device, RenameFactorForm(initial={"name": device.name}))

    def post(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        device = self.get_device(factor_type, pk)
        form = RenameFactorForm(request.POST)
        if form.is_valid():
            try:
                manage.rename(request.user, device, form.cleaned_data["name"])
            except errors.InvalidName as exc:
                form.add_error("name", exc.message)
            else:
                messages.success(request, _("Renamed to “%(name)s”.") % {"name": device.name})
                return HttpResponseRedirect(reverse("mfa_app:security"))
        return self.render(device, form)

    def render(self, device: Any, form: RenameFactorForm) -> HttpResponse:
        context = {"device": device, "form": form}
        return render(self.request, self.template_name, context, status=400 if form.errors else 200)


class SetPrimaryFactorView(LoginRequiredMixin, OwnFactorMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        device = self.get_device(factor_type, pk)
        manage.make_primary(request.user, device)
        messages.success(
            request, _("“%(name)s” is now offered first when you sign in.") % {"name": device.name}
        )
        return HttpResponseRedirect(reverse("mfa_app:security"))


class RemoveFactorView(RecentAuthRequiredMixin, OwnFactorMixin, View):
    template_name = "mfa_app/remove_factor.html"

    def get(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        device = self.get_device(factor_type, pk)
        return render(request, self.template_name, {"device": device})

    def post(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        try:
            device = manage.remove(request, factor_type, pk)
        except (errors.FactorNotFound, errors.FactorNotAllowed) as exc:
            raise Http404 from exc
        except errors.LastFactorRequired as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("“%(name)s” was removed.") % {"name": device.name})
        return HttpResponseRedirect(reverse("mfa_app:security"))


class ReauthenticateView(LoginRequiredMixin, View):
    """Confirm it is still the user before a sensitive change."""

    template_name = "mfa_app/reauthenticate.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(ReauthenticateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReauthenticateForm(request.POST)
        if form.is_valid():
            try:
                step_up.reauthenticate(
                    request,
                    password=form.cleaned_data["password"],
                    code=form.cleaned_data["code"],
                )
            except errors.RateLimited as exc:
                form.add_error(None, wait_message(exc))
            except errors.LockedOut as exc:
                messages.error(request, exc.message)
                return HttpResponseRedirect(resolve_url(app_settings.login_url))
            except errors.ReauthenticationFailed as exc:
                form.add_error(None, exc.message)
            else:
                next_url = login_state.safe_next(request, request.POST.get("next"))
                return HttpResponseRedirect(next_url or reverse("mfa_app:security"))
        return self.render(form)

    def render(self, form: ReauthenticateForm) -> HttpResponse:
        next_url = login_state.safe_next(
            self.request, self.request.POST.get("next") or self.request.GET.get("next")
        )
        user = self.request.user
        typed, others = step_up.confirm_methods(user)
        # The step-up page opened on that way, coming back here's ``next`` afterwards.
        back = f"&{urlencode({'next': next_url})}" if next_url else ""
        confirm_with = [
            {
                "url": f"{reverse('mfa_app:step_up')}?{ChallengeBase.method_query(m)}{back}",
                "label": get_factor(m.factor_type).switch_label(m),
                "icon": get_factor(m.factor_type).icon,
            }
            for m in others
        ]
        context = {
            "form": form,
            "next": next_url,
            "has_factor": bool(services.active_factors(user)),
            "code_factor_labels": [get_factor(t).label for t in typed],
            "confirm_with": confirm_with,
        }
        return render(self.request, self.template_name, context, status=400 if form.errors else 200)
