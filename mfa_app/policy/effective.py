"""The settings in force for one user, and what they allow."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.contrib.sites.shortcuts import get_current_site

from ..models import PolicyFields, Requirement

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
# Where an effective policy's values come from (before the staff rule).
APPLICATION = "application"
TENANT = "tenant"


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

    def mfa_enabled(self, held_factor_types: Iterable[str]) -> bool:
        """Whether MFA is on for a user holding factors of these types: one must be allowed."""
        return any(self.allows(factor_type) for factor_type in held_factor_types)

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
