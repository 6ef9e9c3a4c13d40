"""The user admin's MFA actions: reset, revoke remembered devices, sign out every session,
grant and end a bypass."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import clock, errors, login_state, services
from ..factors import factor_for_device
from ..policy import BYPASS_MAX_DAYS, check_bypass_until


class BypassForm(forms.Form):
    """Until when, and why, the selected users may sign in without MFA."""

    until = forms.DateTimeField(
        label=_("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Why, and how you checked who the user is. Kept in the audit log."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        soon = timezone.localtime(clock.now()) + timedelta(days=1)
        self.fields["until"].initial = soon.replace(second=0, microsecond=0)
        self.fields["until"].help_text = ngettext(
            "At most %(days)d day from now, time zone %(zone)s. The user's factors stay; "
            "sign-ins need only the password until then.",
            "At most %(days)d days from now, time zone %(zone)s. The user's factors stay; "
            "sign-ins need only the password until then.",
            BYPASS_MAX_DAYS,
        ) % {"days": BYPASS_MAX_DAYS, "zone": timezone.get_current_timezone_name()}

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        try:
            check_bypass_until(until)
        except errors.InvalidBypass as exc:
            raise forms.ValidationError(exc.message) from exc
        return until


class MFAUserActionsMixin:
    """The actions; each needs the change permission (``MFAUserAdminMixin.get_actions``)."""

    # The bypass form's template; None: ``admin/<app>/<model>/mfa_grant_bypass.html``, then
    # ``admin/<app>/mfa_grant_bypass.html``, then mfa_app's ``admin/mfa_app/grant_bypass.html``.
    mfa_bypass_template: str | list[str] | None = None

    @admin.action(description=_("Reset MFA (remove factors and recovery codes)"))
    def mfa_reset(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        users = list(queryset)
        # Like Django's delete confirmation: the first POST only shows what would go.
        if request.POST.get("mfa_reset_confirm") != "yes":
            return self._reset_confirmation(request, users)
        for user in users:
            services.reset_mfa(user, actor=request.user, request=request)
            self.log_change(request, user, str(_("Reset MFA")))
        message = ngettext(
            "Removed the factors and recovery codes of %(count)d user.",
            "Removed the factors and recovery codes of %(count)d users.",
            len(users),
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)

    @admin.action(description=_("Unlock MFA (clear wrong answers and waits)"))
    def mfa_unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        unlocked = [
            u for u in queryset if services.unlock_mfa(u, actor=request.user, request=request)
        ]
        for user in unlocked:
            self.log_change(request, user, str(_("Unlocked MFA")))
        if not unlocked:
            message = _("None of the selected users had wrong answers or a lock.")
            self.message_user(request, message, messages.WARNING)
            return
        message = ngettext(
            "Unlocked MFA for %(count)d user.", "Unlocked MFA for %(count)d users.", len(unlocked)
        )
        self.message_user(request, message % {"count": len(unlocked)}, messages.SUCCESS)

    @admin.action(description=_("Revoke remembered devices"))
    def mfa_revoke_devices(self, request: HttpRequest, queryset: QuerySet) -> None:
        counts = {}
        for user in queryset:
            count = services.revoke_devices(
                user, actor=request.user, request=request, reason="admin"
            )
            if count:
                counts[user] = count
                self.log_change(request, user, str(_("Revoked remembered devices")))
        if not counts:
            self.message_user(
                request, _("None of the selected users had a remembered device."), messages.WARNING
            )
            return
        devices = sum(counts.values())
        message = _("Revoked %(devices)s of %(users)s.") % {
            "devices": ngettext("%d remembered device", "%d remembered devices", devices) % devices,
            "users": ngettext("%d user", "%d users", len(counts)) % len(counts),
        }
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Sign out every session"))
    def mfa_sign_out_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = list(queryset)
        for user in users:
            epoch = services.sign_out_other_sessions(user, request=request, actor=request.user)
            self.log_change(request, user, str(_("Signed out every session")))
            if user.pk == request.user.pk:
                # Staff who picked themselves keep the session they are acting from.
                login_state.set_session_epoch(request, epoch)
        message = ngettext(
            "Every session of %(count)d user will be signed out at its next request.",
            "Every session of %(count)d users will be signed out at their next request.",
            len(users),
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)

    @admin.action(description=_("Grant MFA bypass (sign in without MFA until a date)"))
    def mfa_grant_bypass(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        users = list(queryset)
        form = BypassForm(request.POST if "mfa_bypass_confirm" in request.POST else None)
        if form.is_valid():
            until, reason = form.cleaned_data["until"], form.cleaned_data["reason"]
            try:
                for user in users:
                    services.grant_bypass(user, until, reason, actor=request.user, request=request)
                    self.log_change(request, user, _logged_bypass(until))
            except errors.InvalidBypass as exc:
                form.add_error(None, exc.message)
            else:
                message = ngettext(
                    "Granted an MFA bypass until %(until)s to %(count)d user.",
                    "Granted an MFA bypass until %(until)s to %(count)d users.",
                    len(users),
                )
                self.message_user(
                    request,
                    message % {"until": when(until), "count": len(users)},
                    messages.SUCCESS,
                )
                return None
        return self._bypass_form_response(request, users, form)

    @admin.action(description=_("End MFA bypass"))
    def mfa_end_bypass(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = [u for u in queryset if services.end_bypass(u, actor=request.user, request=request)]
        for user in ended:
            self.log_change(request, user, str(_("Ended the MFA bypass")))
        if not ended:
            message = _("None of the selected users had an MFA bypass.")
            self.message_user(request, message, messages.WARNING)
            return
        message = ngettext(
            "Ended the MFA bypass of %(count)d user.",
            "Ended the MFA bypass of %(count)d users.",
            len(ended),
        )
        self.message_user(request, message % {"count": len(ended)}, messages.SUCCESS)

    def _reset_confirmation(self, request: HttpRequest, users: list) -> TemplateResponse:
        opts = self.model._meta
        held = []
        for user in users:
            status = services.mfa_status(user)
            factors = [(device, factor_for_device(device)) for device in status.factors]
            held.append(
                {
                    "user": user,
                    "factors": [
                        {"name": device.name, "kind": factor.device_label(device)}
                        for device, factor in factors
                    ],
                    "recovery_codes": status.recovery_codes_remaining,
                    "devices": services.trusted_devices(user).count(),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reset MFA?"),
            "subtitle": None,
            "opts": opts,
            "held": held,
            "users": users,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request,
            [
                f"admin/{opts.app_label}/{opts.model_name}/mfa_reset_confirmation.html",
                f"admin/{opts.app_label}/mfa_reset_confirmation.html",
                "admin/mfa_app/reset_confirmation.html",
            ],
            context,
        )

    def _bypass_form_response(
        self, request: HttpRequest, users: list, form: BypassForm
    ) -> TemplateResponse:
        opts = self.model._meta
        templates = self.mfa_bypass_template or [
            f"admin/{opts.app_label}/{opts.model_name}/mfa_grant_bypass.html",
            f"admin/{opts.app_label}/mfa_grant_bypass.html",
            "admin/mfa_app/grant_bypass.html",
        ]
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Grant an MFA bypass"),
            "subtitle": None,
            "opts": opts,
            "users": users,
            "adminform": adminform,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, templates, context)


def _logged_bypass(until: Any) -> str:
    return str(_("Granted an MFA bypass until %(until)s")) % {"until": when(until)}


def when(moment: Any) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "—"
