"""Each user's MFA status, policy and history in the user admin, and the staff actions."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import errors, services
from ..factors import get_factor, registered_factors
from ..models import RecoveryCode, TenantPolicy
from ..policy import EffectivePolicy, configured_policy, with_staff_rule
from ..tenants import tenant_for
from .events import decision_table
from .policies import effective_policy_table

LIST_FIELDS = ("mfa_enabled", "mfa_factor_count", "mfa_recovery_codes_remaining")
SECTIONS = (
    (_("Multi-factor authentication"), (*LIST_FIELDS, "mfa_factors", "mfa_bypass")),
    (_("Effective MFA policy"), ("mfa_policy",)),
    (_("Remembered devices"), ("mfa_trusted_devices",)),
    (_("Recent MFA sign-in decisions"), ("mfa_decisions",)),
)
DETAIL_FIELDS = tuple(name for section in SECTIONS for name in section[1])
ACTIONS = ("mfa_reset", "mfa_revoke_devices", "mfa_grant_bypass", "mfa_end_bypass")
BYPASS_MAX_DAYS = 30
DECISIONS_SHOWN = 10
_REMAINING = "mfa_admin_recovery_codes"
# Set on the users of a changelist page only: there, counts come from annotations.
_PAGE_POLICY = "_mfa_admin_policy"
_STATUS = "_mfa_admin_status"


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
        soon = timezone.localtime() + timedelta(days=1)
        self.fields["until"].initial = soon.replace(second=0, microsecond=0)
        self.fields["until"].help_text = _(
            "At most %(days)d days from now, time zone %(zone)s. The user's factors stay; "
            "sign-ins need only the password until then."
        ) % {"days": BYPASS_MAX_DAYS, "zone": timezone.get_current_timezone_name()}

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        now = timezone.now()
        if until <= now:
            raise forms.ValidationError(errors.MESSAGES["bypass_until"])
        if until > now + timedelta(days=BYPASS_MAX_DAYS):
            raise forms.ValidationError(
                _("A bypass lasts at most %(days)d days."), params={"days": BYPASS_MAX_DAYS}
            )
        return until


class MFAUserAdminMixin:
    """Add MFA status columns, read-only MFA sections and MFA actions to a user admin.

    Put it first: ``class UserAdmin(MFAUserAdminMixin, BaseUserAdmin)``. mfa_app extends the
    registered user admin by itself when the site uses ``django.contrib.admin``'s autodiscovery.
    """

    # The bypass form's template; None: ``admin/<app>/<model>/mfa_grant_bypass.html``, then
    # ``admin/<app>/mfa_grant_bypass.html``, then mfa_app's ``admin/mfa_app/grant_bypass.html``.
    mfa_bypass_template: str | list[str] | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _annotate(super().get_queryset(request))

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        policies = _PagePolicies()
        for user in changelist.result_list:
            setattr(user, _PAGE_POLICY, policies.for_user(user))
        return changelist

    def get_list_display(self, request: HttpRequest) -> list:
        columns = list(super().get_list_display(request))
        return [*columns, *(name for name in LIST_FIELDS if name not in columns)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return [*fields, *(name for name in DETAIL_FIELDS if name not in fields)]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        declared = flatten_fieldsets(self.fieldsets) if self.fieldsets else self.fields or ()
        if obj is None or set(declared) & set(DETAIL_FIELDS):
            return fieldsets
        # Without declared fieldsets Django lists every read-only field in one section: move ours.
        cleaned = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in DETAIL_FIELDS]})
            for name, options in fieldsets
        ]
        sections = [(title, {"fields": names}) for title, names in SECTIONS]
        return [*(fs for fs in cleaned if fs[1]["fields"]), *sections]

    def get_actions(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict:
        actions = super().get_actions(request, *args, **kwargs)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        if self.has_change_permission(request):
            for name in ACTIONS:
                actions.setdefault(name, self.get_action(name))
        return actions

    @admin.action(description=_("Reset MFA (remove factors and recovery codes)"))
    def mfa_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = list(queryset)
        for user in users:
            services.reset_mfa(user, actor=request.user, request=request)
            self.log_change(request, user, str(_("Reset MFA")))
        message = ngettext(
            "Removed the factors and recovery codes of %(count)d user.",
            "Removed the factors and recovery codes of %(count)d users.",
            len(users),
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)

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

    @admin.action(description=_("Grant MFA bypass (sign in without MFA until a date)"))
    def mfa_grant_bypass(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        users = list(queryset)
        form = BypassForm(request.POST if "mfa_bypass_confirm" in request.POST else None)
        if form.is_valid():
            until, reason = form.cleaned_data["until"], form.cleaned_data["reason"]
            try:
                for user in users:
                    services.grant_bypass(user, until, reason, actor=request.user, request=request)
                    self.log_change(request, user, str(_("Granted an MFA bypass")))
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
                    message % {"until": _when(until), "count": len(users)},
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
            "max_days": BYPASS_MAX_DAYS,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, templates, context)

    @admin.display(description=_("MFA enabled"), boolean=True)
    def mfa_enabled(self, obj: Any) -> bool:
        if hasattr(obj, _PAGE_POLICY):
            policy = getattr(obj, _PAGE_POLICY)
            held = [t for t in _factor_types() if getattr(obj, _count_name(t))]
            # The same rule as services.mfa_status, from the page's annotations.
            return not policy.disabled and any(policy.allows(t) for t in held)
        return _status(obj).enabled

    @admin.display(description=_("factor count"))
    def mfa_factor_count(self, obj: Any) -> int:
        if hasattr(obj, _PAGE_POLICY):
            return sum(getattr(obj, _count_name(t)) for t in _factor_types())
        return len(_status(obj).factors)

    @admin.display(description=_("recovery codes remaining"), ordering=_REMAINING)
    def mfa_recovery_codes_remaining(self, obj: Any) -> int:
        if hasattr(obj, _PAGE_POLICY):
            return getattr(obj, _REMAINING)
        return _status(obj).recovery_codes_remaining

    @admin.display(description=_("factors"))
    def mfa_factors(self, obj: Any) -> str:
        factors = _status(obj).factors
        if not factors:
            return _("None")
        rows = [
            (
                _factor_label(d),
                d.name,
                d.masked_destination or "—",
                _when(d.created_at),
                _when(d.last_used_at),
            )
            for d in factors
        ]
        headers = (_("Type"), _("Name"), _("Sends to"), _("Created"), _("Last used"))
        return _table(headers, rows)

    @admin.display(description=_("bypass"))
    def mfa_bypass(self, obj: Any) -> str:
        state = services.active_bypass(obj)
        if state is None:
            return _("None")
        row = (_when(state.bypass_until), state.bypass_reason, state.bypass_granted_by or "—")
        return _table((_("Until"), _("Reason"), _("Granted by")), [row])

    @admin.display(description=_("policy"))
    def mfa_policy(self, obj: Any) -> str:
        return effective_policy_table(obj)

    @admin.display(description=_("remembered devices"))
    def mfa_trusted_devices(self, obj: Any) -> str:
        rows = [
            (
                d.user_agent or _("Unknown browser"),
                d.ip_address or "—",
                _when(d.created_at),
                _when(d.expires_at),
                _when(d.last_used_at),
            )
            for d in services.trusted_devices(obj)
        ]
        if not rows:
            return _("None")
        headers = (_("Browser"), _("IP address"), _("Remembered"), _("Expires"), _("Last used"))
        return _table(headers, rows)

    @admin.display(description=_("decisions"))
    def mfa_decisions(self, obj: Any) -> str:
        return decision_table(obj, DECISIONS_SHOWN)


def extend_user_admin(site: admin.AdminSite | None = None) -> None:
    """Swap the user model's registered ModelAdmin for one with ``MFAUserAdminMixin`` mixed in."""
    site = site or admin.site
    user_model = get_user_model()
    if not site.is_registered(user_model):
        return
    current = type(site.get_model_admin(user_model))
    if issubclass(current, MFAUserAdminMixin):
        return
    extended = type(
        f"MFA{current.__name__}", (MFAUserAdminMixin, current), {"__module__": __name__}
    )
    site.unregister(user_model)
    site.register(user_model, extended)


def extend_user_admin_after_autodiscovery() -> None:
    """Extend the user admin once every app's admin module has registered its models."""
    from django.contrib.admin.apps import AdminConfig

    config = next(c for c in apps.get_app_configs() if c.name == "django.contrib.admin")
    if not isinstance(config, AdminConfig):
        return  # No autodiscovery: the site registers its user admin (with the mixin) itself.
    # Idempotent: modules already imported are not imported again. Needed when the admin app
    # is listed after mfa_app, whose ready() then runs first.
    admin.autodiscover()
    extend_user_admin(admin.site)


class _PagePolicies:
    """The effective policy of each user on one changelist page, in few queries."""

    def __init__(self) -> None:
        self._tenants_override = TenantPolicy.objects.filter(override=True).exists()
        self._by_tenant: dict[Any, EffectivePolicy] = {}

    def for_user(self, user: Any) -> EffectivePolicy:
        # Without overrides every user has the application policy: a tenantless user's.
        member = user if self._tenants_override else None
        tenant = tenant_for(member)
        if tenant not in self._by_tenant:
            self._by_tenant[tenant] = configured_policy(member)
        return with_staff_rule(self._by_tenant[tenant], user)


def _factor_types() -> list[str]:
    return [f.type for f in registered_factors() if not f.is_fallback]


def _count_name(factor_type: str) -> str:
    return f"mfa_admin_{factor_type.lower()}_count"


def _count(queryset: QuerySet, user_path: str) -> Coalesce:
    counted = queryset.filter(**{user_path: OuterRef("pk")}).order_by().values(user_path)
    subquery = Subquery(counted.annotate(n=Count("pk")).values("n"), output_field=IntegerField())
    return Coalesce(subquery, Value(0))


def _annotate(queryset: QuerySet) -> QuerySet:
    # The same counts as services.list_factors and services.recovery_codes_remaining.
    counts = {
        _count_name(f.type): _count(f.model.objects.filter(confirmed=True), "user")
        for f in registered_factors()
        if not f.is_fallback
    }
    unused = RecoveryCode.objects.filter(code_set__confirmed=True, used_at__isnull=True)
    counts[_REMAINING] = _count(unused, "code_set__user")
    return queryset.annotate(**counts)


def _status(user: Any) -> services.MFAStatus:
    if not hasattr(user, _STATUS):
        setattr(user, _STATUS, services.mfa_status(user))
    return getattr(user, _STATUS)


def _factor_label(device: Any) -> str:
    return get_factor(services.factor_type_of(device)).label


def _when(moment: Any) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "—"


def _table(headers: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """An HTML table; every header and cell is escaped."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
