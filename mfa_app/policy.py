"""The effective policy for a user: the application policy, or their tenant's override."""

from dataclasses import dataclass, replace
from typing import Any, Literal

from django.apps import apps
from django.contrib.sites.shortcuts import get_current_site

from .conf import app_settings
from .models import ApplicationPolicy, PolicyFields, Requirement, TenantPolicy
from .models.policies import default_allowed_factors
from .tenants import tenant_for

POLICY_FIELDS = (
    "requirement",
    "allowed_factors",
    "recovery_codes_enabled",
    "recovery_codes_count",
    "issuer",
    "grace_period_days",
    "trusted_devices_enabled",
    "trusted_device_days",
    "risk_new_device",
    "risk_new_location",
    "risk_suspicious_ip",
    "risk_password_changed",
)
RISK_TRIGGERS = ("new_device", "new_location", "suspicious_ip", "password_changed")


@dataclass(frozen=True)
class EffectivePolicy:
    requirement: str
    allowed_factors: frozenset[str]
    recovery_codes_enabled: bool
    recovery_codes_count: int
    issuer: str
    grace_period_days: int
    trusted_devices_enabled: bool
    trusted_device_days: int
    risk_new_device: bool
    risk_new_location: bool
    risk_suspicious_ip: bool
    risk_password_changed: bool
    source: Literal["application", "tenant"]
    # Set when the staff rule raised the requirement to REQUIRED for this user.
    staff_rule: bool = False

    @property
    def disabled(self) -> bool:
        return self.requirement == Requirement.DISABLED

    @property
    def required(self) -> bool:
        return self.requirement == Requirement.REQUIRED

    @property
    def risk_based(self) -> bool:
        return self.requirement == Requirement.RISK_BASED

    def risk_trigger_on(self, name: str) -> bool:
        return bool(getattr(self, f"risk_{name}"))

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
    """The policy that applies to ``user``: their tenant's override, or the application's.

    Staff and superusers are always under REQUIRED (``MFA_STAFF_ALWAYS_REQUIRED``), whatever
    the policy says: they hold the keys to the Django admin and to everyone else's MFA.
    """
    return with_staff_rule(configured_policy(user), user)


def with_staff_rule(policy: EffectivePolicy, user: Any) -> EffectivePolicy:
    """``policy`` raised to REQUIRED if ``user`` is staff (and the rule is on)."""
    if (
        app_settings.STAFF_ALWAYS_REQUIRED
        and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
        and not policy.required
    ):
        allowed = policy.allowed_factors or frozenset(default_allowed_factors())
        return replace(
            policy, requirement=Requirement.REQUIRED, allowed_factors=allowed, staff_rule=True
        )
    return policy


def configured_policy(user: Any) -> EffectivePolicy:
    """The policy the admin configured for ``user``'s tenant (or the application's)."""
    tenant = tenant_for(user)
    if tenant is not None:
        override = TenantPolicy.objects.filter(tenant=tenant, override=True).first()
        if override is not None:
            return EffectivePolicy.from_fields(override, "tenant")
    return EffectivePolicy.from_fields(ApplicationPolicy.load(), "application")
