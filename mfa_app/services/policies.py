"""The application and tenant policies: read them, change them, say where a user's comes from.

The rules themselves (what a policy may allow, which one applies, where a value comes from)
are ``mfa_app.policy``'s; this module reads and saves the policies under them.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ..factors import policy_names
from ..models import ApplicationPolicy, PolicyFields, TenantPolicy
from ..policy import (
    APPLICATION,
    POLICY_FIELDS,
    STAFF_RULE,
    TENANT,
    EffectivePolicy,
    PolicyExplanation,
    check_in_force,
    clean_allowed_factors,
    explain_policy,
    ordered_factors,
)

# Public here too: the services' callers name a setting's source with these.
__all__ = [
    "APPLICATION",
    "STAFF_RULE",
    "TENANT",
    "PolicyExplanation",
    "explain_policy",
    "get_policy",
    "policy_values",
    "update_policy",
]


def get_policy(tenant: Any = None) -> PolicyFields | None:
    """The application policy, or ``tenant``'s own policy (``None`` if it has none)."""
    if tenant is None:
        return ApplicationPolicy.load()
    return TenantPolicy.objects.filter(tenant=tenant).first()


def policy_values(policy: PolicyFields | EffectivePolicy) -> dict[str, Any]:
    """Every setting of ``policy`` by name, JSON-ready (allowed factors as a list, in order)."""
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values["allowed_factors"] = ordered_factors(values["allowed_factors"] or (), policy_names())
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
                fields["allowed_factors"] = clean_allowed_factors(
                    fields["allowed_factors"], policy_names()
                )
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
                del fields["allowed_factors"]
        for name, value in fields.items():
            setattr(policy, name, value)
        if isinstance(policy, TenantPolicy):
            policy.override = override if override is not None else policy.override or bool(fields)
        # No factor is a valid choice (the admin's checkboxes allow it); check_in_force decides.
        skip = [] if policy.allowed_factors and not errors else ["allowed_factors"]
        try:
            policy.full_clean(exclude=skip)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)
        in_force = getattr(policy, "override", True)
        check_in_force(policy.requirement, policy.allowed_factors, in_force=in_force)
        policy.save()
    return policy


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
