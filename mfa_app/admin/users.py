"""Each user's MFA status, policy and history in the user admin, and the staff actions."""

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import lockout, services
from ..factors import factor_for_device, second_factors
from ..models import RecoveryCode, UserState
from ..policy import policies_for
from .events import decision_table
from .policies import effective_policy_table
from .user_actions import MFAUserActionsMixin, when

LIST_FIELDS = ("mfa_enabled", "mfa_factor_count", "mfa_recovery_codes_remaining")
SECTIONS = (
    (
        _("Multi-factor authentication"),
        (*LIST_FIELDS, "mfa_factors", "mfa_lockout", "mfa_bypass"),
    ),
    (_("Effective MFA policy"), ("mfa_policy",)),
    (_("Remembered devices"), ("mfa_trusted_devices",)),
    (_("Recent MFA sign-in decisions"), ("mfa_decisions",)),
)
DETAIL_FIELDS = tuple(name for section in SECTIONS for name in section[1])
ACTIONS = (
    "mfa_reset",
    "mfa_unlock",
    "mfa_revoke_devices",
    "mfa_sign_out_sessions",
    "mfa_grant_bypass",
    "mfa_end_bypass",
)
DECISIONS_SHOWN = 10
_REMAINING = "mfa_admin_recovery_codes"
# Set on the users of a changelist page only: there, counts come from annotations.
_PAGE_POLICY = "_mfa_admin_policy"
_STATUS = "_mfa_admin_status"


class MFAUserAdminMixin(MFAUserActionsMixin):
    """Add MFA status columns, read-only MFA sections and MFA actions to a user admin.

    Put it first: ``class UserAdmin(MFAUserAdminMixin, BaseUserAdmin)``. mfa_app extends the
    registered user admin by itself when the site uses ``django.contrib.admin``'s autodiscovery.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _annotate(super().get_queryset(request))

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        users = list(changelist.result_list)
        for user, policy in zip(users, policies_for(users), strict=True):
            setattr(user, _PAGE_POLICY, policy)
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

    @admin.display(description=_("MFA enabled"), boolean=True)
    def mfa_enabled(self, obj: Any) -> bool:
        if hasattr(obj, _PAGE_POLICY):
            policy = getattr(obj, _PAGE_POLICY)
            # The factors held, from the page's annotations rather than a query per row.
            held = [f for f in second_factors() if getattr(obj, _count_name(f.type))]
            return any(f.allowed_by(policy) for f in held)
        return _status(obj).enabled

    @admin.display(description=_("factor count"))
    def mfa_factor_count(self, obj: Any) -> int:
        if hasattr(obj, _PAGE_POLICY):
            return sum(getattr(obj, _count_name(f.type)) for f in second_factors())
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
                when(d.created_at),
                when(d.last_used_at),
            )
            for d in factors
        ]
        headers = (_("Type"), _("Name"), _("Sends to"), _("Created"), _("Last used"))
        return _table(headers, rows)

    @admin.display(description=_("wrong answers in a row"))
    def mfa_lockout(self, obj: Any) -> str:
        state = UserState.objects.filter(user=obj).first()
        failures = state.failed_attempts if state is not None else 0
        until = lockout.locked_until(obj)
        if until is None:
            return str(failures)
        return format_html(
            "{} — <strong>{}</strong>",
            failures,
            _("MFA locked until %(when)s") % {"when": when(until)},
        )

    @admin.display(description=_("bypass"))
    def mfa_bypass(self, obj: Any) -> str:
        state = services.active_bypass(obj)
        if state is None:
            return _("None")
        row = (when(state.bypass_until), state.bypass_reason, state.bypass_granted_by or "—")
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
                when(d.created_at),
                when(d.expires_at),
                when(d.last_used_at),
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
        for f in second_factors()
    }
    unused = RecoveryCode.objects.filter(code_set__confirmed=True, used_at__isnull=True)
    counts[_REMAINING] = _count(unused, "code_set__user")
    return queryset.annotate(**counts)


def _status(user: Any) -> services.MFAStatus:
    if not hasattr(user, _STATUS):
        setattr(user, _STATUS, services.mfa_status(user))
    return getattr(user, _STATUS)


def _factor_label(device: Any) -> str:
    return factor_for_device(device).label


def _table(headers: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """An HTML table; every header and cell is escaped."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
