"""The application and tenant policies: read them, change them, say where a user's comes from."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ..models import ApplicationPolicy, FactorType, PolicyFields, Requirement, TenantPolicy
from ..policy import POLICY_FIELDS, EffectivePolicy, configured_policy, with_staff_rule
from ..tenants import tenant_for

# Where a setting of a user's effective policy comes from.
APPLICATION = "application"
TENANT = "tenant"
STAFF_RULE = "staff_rule"


def get_policy(tenant: Any = None) -> PolicyFields | None:
    """The application policy, or ``tenant``'s own policy (``None`` if it has none)."""
    if tenant is None:
        return ApplicationPolicy.load()
    return TenantPolicy.objects.filter(tenant=tenant).first()


def policy_values(policy: PolicyFields | EffectivePolicy) -> dict[str, Any]:
    """Every setting of ``policy`` by name, JSON-ready (allowed factors as a list, in order)."""
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values["allowed_factors"] = _ordered_factors(values["allowed_factors"] or ())
    return values


def update_policy(
    tenant: Any = None, *, override: bool | None = None, **fields: Any
) -> PolicyFields:
    """Change settings of the application policy, or of ``tenant``'s; return the saved policy.

    ``fields`` are names from ``mfa_app.policy.POLICY_FIELDS``. They are checked as the admin
    checks them: the model's validators, known factor types, and at least one allowed factor
    for a policy in force that is not DISABLED. Any bad value raises ``ValidationError``
    (``message_dict`` keyed by setting) and nothing is saved.

    A tenant without a policy gets one that starts from the application policy's values (like
    the admin's add form). Changing a tenant's setting turns its override on, so the change
    applies to its users, unless ``override=False`` is given; ``override`` alone turns the
    override on or off and keeps the values.
    """
    unknown = sorted(set(fields) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({name: _("Unknown policy setting.") for name in unknown})
    if tenant is None and override is not None:
        raise ValidationError({"override": _("Only a tenant policy overrides another.")})
    with transaction.atomic():
        policy = _policy_to_change(tenant)
        errors: dict[str, Any] = {}
        if "allowed_factors" in fields:
            try:
                fields["allowed_factors"] = _clean_factors(fields["allowed_factors"])
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
                del fields["allowed_factors"]
        for name, value in fields.items():
            setattr(policy, name, value)
        if isinstance(policy, TenantPolicy):
            policy.override = override if override is not None else policy.override or bool(fields)
        # No factor is a valid choice (the admin's checkboxes allow it); _check_in_force decides.
        skip = [] if policy.allowed_factors and not errors else ["allowed_factors"]
        try:
            policy.full_clean(exclude=skip)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)
        _check_in_force(policy)
        policy.save()
    return policy


@dataclass(frozen=True)
class PolicyExplanation:
    """A user's effective policy, and where each of its settings comes from."""

    policy: EffectivePolicy
    # The policy as the admin configured it for the user, before the staff rule.
    configured: EffectivePolicy
    tenant: Any | None

    def source_of(self, name: str) -> str:
        """``"application"``, ``"tenant"`` or ``"staff_rule"``."""
        if getattr(self.policy, name) != getattr(self.configured, name):
            return STAFF_RULE
        return self.configured.source

    @property
    def sources(self) -> dict[str, str]:
        return {name: self.source_of(name) for name in POLICY_FIELDS}


def explain_policy(user: Any) -> PolicyExplanation:
    """The policy that applies to ``user`` and, per setting, where it came from.

    The same answer as the admin's user page: the tenant's policy when its override is on,
    else the application policy, then the staff rule (``MFA_STAFF_ALWAYS_REQUIRED``).
    """
    configured = configured_policy(user)
    return PolicyExplanation(
        policy=with_staff_rule(configured, user), configured=configured, tenant=tenant_for(user)
    )


def _policy_to_change(tenant: Any) -> PolicyFields:
    if tenant is None:
        ApplicationPolicy.load()
        return ApplicationPolicy.objects.select_for_update().get(pk=ApplicationPolicy.SINGLETON_PK)
    policy = TenantPolicy.objects.select_for_update().filter(tenant=tenant).first()
    if policy is None:
        application = ApplicationPolicy.load()
        policy = TenantPolicy(
            tenant=tenant, **{name: getattr(application, name) for name in POLICY_FIELDS}
        )
    return policy


def _clean_factors(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, Iterable):
        raise ValidationError({"allowed_factors": _("Give a list of factor types.")})
    chosen = [str(item).strip() for item in value]
    unknown = [item for item in chosen if item not in FactorType.values]
    if unknown:
        raise ValidationError(
            {
                "allowed_factors": _("Unknown factor type: %(unknown)s. Choose from %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(FactorType.values)}
            }
        )
    return _ordered_factors(chosen)


def _ordered_factors(chosen: Iterable[str]) -> list[str]:
    # The admin's order (FactorType's), so a policy reads the same wherever it was saved.
    chosen = set(chosen)
    return [t for t in FactorType.values if t in chosen] + sorted(chosen - set(FactorType.values))


def _check_in_force(policy: PolicyFields) -> None:
    # The admin form's rule: a policy that applies and asks for MFA must allow some factor.
    in_force = getattr(policy, "override", True)
    if in_force and policy.requirement != Requirement.DISABLED and not policy.allowed_factors:
        raise ValidationError(
            {"allowed_factors": _("Allow at least one factor, or set the requirement to disabled.")}
        )
