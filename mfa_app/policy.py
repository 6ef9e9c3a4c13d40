"""The effective policy for a user: the application policy, or their tenant's override."""

from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.contrib.sites.shortcuts import get_current_site

from .models import ApplicationPolicy, PolicyFields, Requirement, TenantPolicy
from .tenants import tenant_for

POLICY_FIELDS = (
    "requirement",
    "allowed_factors",
    "recovery_codes_enabled",
    "recovery_codes_count",
    "issuer",
)


@dataclass(frozen=True)
class EffectivePolicy:
    requirement: str
    allowed_factors: frozenset[str]
    recovery_codes_enabled: bool
    recovery_codes_count: int
    issuer: str
    source: Literal["application", "tenant"]

    @property
    def disabled(self) -> bool:
        return self.requirement == Requirement.DISABLED

    @property
    def required(self) -> bool:
        return self.requirement == Requirement.REQUIRED

    def allows(self, factor_type: str) -> bool:
        return not self.disabled and factor_type in self.allowed_factors

    def issuer_for(self, request: Any) -> str:
        if self.issuer:
            return self.issuer
        if request is None and not apps.is_installed("django.contrib.sites"):
            return "Django"
        return get_current_site(request).name

    @classmethod
    def from_fields(cls, fields: PolicyFields, source: str) -> "EffectivePolicy":
        values = {name: getattr(fields, name) for name in POLICY_FIELDS}
        values["allowed_factors"] = frozenset(values["allowed_factors"] or ())
        return cls(**values, source=source)


def policy_for(user: Any) -> EffectivePolicy:
    tenant = tenant_for(user)
    if tenant is not None:
        override = TenantPolicy.objects.filter(tenant=tenant, override=True).first()
        if override is not None:
            return EffectivePolicy.from_fields(override, "tenant")
    return EffectivePolicy.from_fields(ApplicationPolicy.load(), "application")
