"""The application policy (a singleton) and the tenant policies that may override it."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .. import services
from ..factors import policy_names, second_factors
from ..models import ApplicationPolicy, FactorType, Requirement, TenantPolicy
from ..policy import (
    POLICY_FIELDS,
    STAFF_RULE,
    TENANT,
    EffectivePolicy,
    check_in_force,
    clean_allowed_factors,
    explain_policy,
)

POLICY_FIELDSETS = (
    (_("Requirement and factors"), {"fields": ("requirement", "allowed_factors")}),
    (_("Recovery codes"), {"fields": ("recovery_codes_enabled", "recovery_codes_count")}),
    (_("Authenticator apps"), {"fields": ("issuer",)}),
    (_("Grace period"), {"fields": ("grace_period_days",)}),
    (_("Trusted devices"), {"fields": ("trusted_devices_enabled", "trusted_device_days")}),
    (
        _("Risk triggers (RISK_BASED)"),
        {
            "fields": (
                "risk_new_device",
                "risk_new_location",
                "risk_suspicious_ip",
                "risk_password_changed",
            ),
            "description": _(
                "Used only when the requirement is risk-based: a sign-in is challenged (or, "
                "without a factor, asked to enroll) when one of the checked triggers fires."
            ),
        },
    ),
)
REQUIREMENT_HELP = _(
    "Optional: users may enroll, and those who did are challenged. Required: every user "
    "enrolls and is challenged at each sign-in. Risk-based: a sign-in is challenged only when "
    "a risk trigger below fires (a new device, a new location, a suspicious IP, a changed "
    "password). Remembered devices skip the challenge under each of them. Staff are always "
    "under Required (MFA_STAFF_ALWAYS_REQUIRED) and never skip it through a remembered device "
    "(MFA_TRUSTED_DEVICES_FOR_STAFF)."
)


def factor_choices() -> list[tuple[str, str]]:
    """Each registered factor a policy can allow, in menu order, as (policy name, label).

    The labels of the built-in factors are ``FactorType``'s ("Authenticator app (TOTP)"), which
    staff know from the model's choices; a factor a site registers shows its own label.
    """
    labels = dict(FactorType.choices)
    own_labels = {str(f.policy_name): f.label for f in second_factors()}
    return [(name, labels.get(name, own_labels[name])) for name in policy_names()]


def _allowed_factors_field() -> forms.MultipleChoiceField:
    model_field = ApplicationPolicy._meta.get_field("allowed_factors")
    return forms.MultipleChoiceField(
        label=capfirst(model_field.verbose_name),
        help_text=model_field.help_text,
        # A callable: read at each form, so factors registered after this module count too.
        choices=factor_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class PolicyForm(forms.ModelForm):
    """The policy fields, with the allowed factors as checkboxes (the model stores a list)."""

    allowed_factors = _allowed_factors_field()

    class Meta:
        help_texts = {"requirement": REQUIREMENT_HELP}

    def clean_allowed_factors(self) -> list[str]:
        return clean_allowed_factors(self.cleaned_data["allowed_factors"], policy_names())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        requirement, allowed = cleaned.get("requirement"), cleaned.get("allowed_factors")
        if requirement is None or allowed is None:
            return cleaned  # The field's own error says what is wrong.
        try:
            check_in_force(requirement, allowed, in_force=cleaned.get("override", True))
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned


class AuditedPolicyAdmin(admin.ModelAdmin):
    """Saving or deleting a policy here is audited as ``policy_changed``, with who did it."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = type(obj).objects.filter(pk=obj.pk).first() if change else None
        before = services.policy_snapshot(stored)
        super().save_model(request, obj, form, change)
        self._audit(request, before, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = services.policy_snapshot(obj)
        super().delete_model(request, obj)
        self._audit(request, before, None, tenant=getattr(obj, "tenant", None))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # One event per policy, as deleting them one by one would write.
        for obj in queryset:
            self.delete_model(request, obj)

    def _audit(self, request: HttpRequest, before: Any, obj: Any, tenant: Any = None) -> None:
        if obj is not None:
            tenant = getattr(obj, "tenant", None)
        services.record_policy_change(
            before, obj, tenant=tenant, actor=request.user, request=request, via="admin"
        )


@admin.register(ApplicationPolicy)
class ApplicationPolicyAdmin(AuditedPolicyAdmin):
    form = PolicyForm
    fieldsets = POLICY_FIELDSETS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # There is only ever one: go straight to it.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        policy = ApplicationPolicy.load()
        return HttpResponseRedirect(self._url("change", policy.pk))

    def response_post_save_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        app_list = f"{self.admin_site.name}:app_list"
        return HttpResponseRedirect(reverse(app_list, kwargs={"app_label": self.opts.app_label}))

    def _url(self, view: str, *args: Any) -> str:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=args)


@admin.register(TenantPolicy)
class TenantPolicyAdmin(AuditedPolicyAdmin):
    form = PolicyForm
    fieldsets = ((None, {"fields": ("tenant", "override")}), *POLICY_FIELDSETS)
    list_display = ("tenant", "override", "requirement")
    list_filter = ("override", "requirement")
    list_select_related = ("tenant",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tenant"] if obj is not None else fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # A new tenant policy starts from the application policy's values.
        application = ApplicationPolicy.load()
        defaults = {name: getattr(application, name) for name in POLICY_FIELDS}
        return {**defaults, **super().get_changeform_initial_data(request)}


# --- the effective policy, on a user's page -------------------------------------------------


def effective_policy_table(user: Any) -> str:
    """Each policy value that applies to ``user`` and where it came from, as an HTML table."""
    explained = explain_policy(user)
    if explained.configured.source == TENANT:
        origin = format_html("{} {}", _("tenant policy:"), explained.tenant)
    else:
        origin = _("application policy")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _field_label(name),
                _value(explained.policy, name),
                _("staff rule") if explained.source_of(name) == STAFF_RULE else origin,
            )
            for name in POLICY_FIELDS
        ),
    )
    return format_html(
        '<table class="mfa-policy"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        _("Setting"),
        _("Value"),
        _("From"),
        rows,
    )


def _field_label(name: str) -> str:
    label = capfirst(ApplicationPolicy._meta.get_field(name).verbose_name)
    return format_html("{} {}", _("Risk trigger:"), label) if name.startswith("risk_") else label


def _value(policy: EffectivePolicy, name: str) -> str:
    value = getattr(policy, name)
    if name == "requirement":
        return Requirement(value).label
    if name == "allowed_factors":
        labels = [label for name, label in factor_choices() if name in value]
        return ", ".join(str(label) for label in labels) or _("None")
    if name == "issuer":
        return value or _("(the site's name)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)
