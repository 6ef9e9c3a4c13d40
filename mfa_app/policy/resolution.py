"""Which policy applies to a user, for one user or a page of them, and where each value is from.

The tenant's policy applies while its override is on, else the application policy; then the
staff rule: staff and superusers are always under REQUIRED (``MFA_STAFF_ALWAYS_REQUIRED``),
whatever the policy says, because they hold the keys to the Django admin and to everyone
else's MFA; for the same reason a remembered browser never skips their challenge
(``MFA_TRUSTED_DEVICES_FOR_STAFF``).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .. import shared_state
from ..conf import app_settings
from ..models import ApplicationPolicy, Requirement, TenantPolicy
from ..models.policies import default_allowed_factors
from ..tenants import tenant_for
from .effective import APPLICATION, POLICY_FIELDS, TENANT, EffectivePolicy

# Where a setting comes from when the staff rule, not a policy, set it.
STAFF_RULE = "staff_rule"


def policy_for(user: Any) -> EffectivePolicy:
    """The policy that applies to ``user``: their tenant's override or the application's,
    under the staff rule."""
    return with_staff_rule(configured_policy(user), user)


def configured_policy(user: Any) -> EffectivePolicy:
    """The policy the admin configured for ``user``'s tenant (or the application's)."""
    application, any_override = _application_policy_and_any_override()
    if not any_override:
        # No tenant's policy applies to anyone: the site's resolver need not be asked.
        return application
    tenant = tenant_for(user)
    if tenant is not None:
        override = shared_state.remembered(
            TENANT_KEY.format(tenant.pk), partial(_tenant_override, tenant)
        )
        if override is not None:
            return override
    return application


def with_staff_rule(policy: EffectivePolicy, user: Any) -> EffectivePolicy:
    """``policy`` for staff: raised to REQUIRED and without remembered devices (each setting)."""
    if not (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False)):
        return policy
    if app_settings.STAFF_ALWAYS_REQUIRED and not policy.required:
        allowed = policy.allowed_factors or frozenset(default_allowed_factors())
        policy = replace(
            policy, requirement=Requirement.REQUIRED, allowed_factors=allowed, staff_rule=True
        )
    if not app_settings.TRUSTED_DEVICES_FOR_STAFF and policy.trusted_devices_enabled:
        # A remembered browser stands in for the second factor at AAL1 at best (NIST 800-63B
        # rev 4 §5.1); the decision, the challenge page and the API all read this one value.
        policy = replace(policy, trusted_devices_enabled=False)
    return policy


def policies_for(users: Sequence[Any]) -> list[EffectivePolicy]:
    """``policy_for`` of each user, in order, in a few queries however many users (an admin list).

    ``MFA_TENANT_RESOLVER`` is asked for each user's tenant only while some tenant overrides.
    """
    overrides = TenantPolicy.objects.filter(override=True)
    if not overrides.exists():
        application = _application_policy()
        return [with_staff_rule(application, user) for user in users]
    tenants = [tenant_for(user) for user in users]
    by_tenant = {
        policy.tenant_id: EffectivePolicy.from_fields(policy, TENANT)
        for policy in overrides.filter(tenant__in={t.pk for t in tenants if t is not None})
    }
    application: EffectivePolicy | None = None
    policies = []
    for user, tenant in zip(users, tenants, strict=True):
        policy = by_tenant.get(tenant.pk) if tenant is not None else None
        if policy is None:
            application = application or _application_policy()
            policy = application
        policies.append(with_staff_rule(policy, user))
    return policies


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

    The same answer as the admin's user page and ``manage.py mfa_status``.
    """
    configured = configured_policy(user)
    return PolicyExplanation(
        policy=with_staff_rule(configured, user), configured=configured, tenant=tenant_for(user)
    )


# The configured policies, in the shared cache (``shared_state``) until one is saved. The
# application's is kept with whether any tenant policy overrides it: one cache read for both
# (a new key: a cache still holding the policy alone under the old one is not misread).
APPLICATION_KEY = "mfa_app:policy:application_and_any_override"
TENANT_KEY = "mfa_app:policy:tenant:{}"


def _application_policy() -> EffectivePolicy:
    return _application_policy_and_any_override()[0]


def _application_policy_and_any_override() -> tuple[EffectivePolicy, bool]:
    """The application's policy, and whether some tenant policy overrides (``True`` without a
    shared cache: then the tenant's own lookup, one statement either way, tells)."""
    if shared_state.shared_cache() is None:
        return _read_application_policy(), True
    return shared_state.remembered(
        APPLICATION_KEY,
        lambda: (
            _read_application_policy(),
            TenantPolicy.objects.filter(override=True).exists(),
        ),
        site_wide=True,
    )


def _read_application_policy() -> EffectivePolicy:
    return EffectivePolicy.from_fields(ApplicationPolicy.load(), APPLICATION)


def _tenant_override(tenant: Any) -> EffectivePolicy | None:
    override = TenantPolicy.objects.filter(tenant=tenant, override=True).first()
    return None if override is None else EffectivePolicy.from_fields(override, TENANT)


@receiver(post_save, sender=ApplicationPolicy, dispatch_uid="mfa_app.policy.application_saved")
@receiver(post_delete, sender=ApplicationPolicy, dispatch_uid="mfa_app.policy.application_gone")
def _application_policy_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    shared_state.forget(APPLICATION_KEY, shared_state.saved_using(instance, **kwargs))


@receiver(post_save, sender=TenantPolicy, dispatch_uid="mfa_app.policy.tenant_saved")
@receiver(post_delete, sender=TenantPolicy, dispatch_uid="mfa_app.policy.tenant_gone")
def _tenant_policy_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    using = shared_state.saved_using(instance, **kwargs)
    shared_state.forget(TENANT_KEY.format(instance.tenant_id), using)
    shared_state.forget(APPLICATION_KEY, using)
