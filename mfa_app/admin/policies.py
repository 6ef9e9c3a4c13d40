"""The application policy (a singleton) and the tenant policies that may override it."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..models import ApplicationPolicy, FactorType, Requirement, TenantPolicy
from ..policy import POLICY_FIELDS

POLICY_FIELDSETS = (
    (_("Requirement and factors"), {"fields": ("requirement", "allowed_factors")}),
    (_("Recovery codes"), {"fields": ("recovery_codes_enabled", "recovery_codes_count")}),
    (_("Authenticator apps"), {"fields": ("issuer",)}),
)


def _allowed_factors_field() -> forms.MultipleChoiceField:
    model_field = ApplicationPolicy._meta.get_field("allowed_factors")
    return forms.MultipleChoiceField(
        label=capfirst(model_field.verbose_name),
        help_text=model_field.help_text,
        choices=FactorType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class PolicyForm(forms.ModelForm):
    """The policy fields, with the allowed factors as checkboxes (the model stores a list)."""

    allowed_factors = _allowed_factors_field()

    def clean_allowed_factors(self) -> list[str]:
        chosen = set(self.cleaned_data["allowed_factors"])
        return [value for value in FactorType.values if value in chosen]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        in_force = cleaned.get("override", True)
        enforced = cleaned.get("requirement") not in (None, Requirement.DISABLED)
        if in_force and enforced and cleaned.get("allowed_factors") == []:
            self.add_error(
                "allowed_factors",
                _("Allow at least one factor, or set the requirement to disabled."),
            )
        return cleaned


@admin.register(ApplicationPolicy)
class ApplicationPolicyAdmin(admin.ModelAdmin):
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
class TenantPolicyAdmin(admin.ModelAdmin):
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
