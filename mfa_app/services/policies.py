"""The application and tenant policies: read them, change them, say where a user's comes from.

The rules themselves (what a policy may allow, which one applies, where a value comes from)
are ``mfa_app.policy``'s; this module reads and saves the policies under them.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .. import events
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
    "policy_snapshot",
    "policy_values",
    "record_policy_change",
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


def policy_snapshot(policy: PolicyFields | None) -> dict[str, Any] | None:
    """A policy's settings as the audit log keeps them (a tenant's with its ``override``)."""
    if policy is None:
        return None
    values = policy_values(policy)
    if isinstance(policy, TenantPolicy):
        values["override"] = policy.override
    return values


def record_policy_change(
    before: dict[str, Any] | None,
    policy: PolicyFields | None,
    *,
    tenant: Any = None,
    actor: Any = None,
    request: Any = None,
    via: str = "",
) -> None:
    """Audit ``policy_changed``: each setting that changed, before and after (none: no event).

    ``before`` is ``policy_snapshot`` of the policy as it was (``None``: it did not exist);
    ``policy`` is the saved one (``None``: deleted). ``via`` says how: admin, command, ...
    """
    after = policy_snapshot(policy)
    names = list(dict.fromkeys([*(before or {}), *(after or {})]))
    changes = {
        name: {"before": (before or {}).get(name), "after": (after or {}).get(name)}
        for name in names
        if (before or {}).get(name) != (after or {}).get(name)
    }
    if not changes and (before is None) == (after is None):
        return
    scope = TENANT if tenant is not None else APPLICATION
    events.record_policy_change(
        tenant,
        request,
        actor=actor,
        scope=scope,
        tenant_id=str(tenant.pk) if tenant is not None else None,
        action="created" if before is None else "deleted" if after is None else "changed",
        changes=changes,
        via=via,
    )


def update_policy(
    tenant: Any = None,
    *,
    override: bool | None = None,
    actor: Any = None,
    via: str = "",
    **fields: Any,
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

    The change is audited (``policy_changed``: each setting before and after) with ``actor``,
    the staff member who made it (``None`` for a script or command), and ``via``.
    """
    unknown = sorted(set(fields) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({name: _("Unknown policy setting.") for name in unknown})
    if tenant is None and override is not None:
        raise ValidationError({"override": _("Only a tenant policy overrides another.")})
    with transaction.atomic():
        policy = _policy_to_change(tenant)
        before = policy_snapshot(policy) if policy.pk is not None else None
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
        record_policy_change(before, policy, tenant=tenant, actor=actor, via=via)
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
