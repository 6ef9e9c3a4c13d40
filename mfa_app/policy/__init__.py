"""The policy rules, in one place: what a policy may say, which applies to a user, and why.

- ``effective``: ``EffectivePolicy``, the settings in force for one user, and what they allow;
- ``resolution``: the policy of one user (``policy_for``) or of many (``policies_for``): the
  tenant's override or the application's, then the staff rule; and where each value comes
  from (``explain_policy``);
- ``validation``: what staff may set: known factor types, an allowed factor for a policy in
  force, a bypass of at most ``BYPASS_MAX_DAYS`` days.
"""

from .effective import APPLICATION, POLICY_FIELDS, RISK_TRIGGERS, TENANT, EffectivePolicy
from .resolution import (
    STAFF_RULE,
    PolicyExplanation,
    configured_policy,
    explain_policy,
    policies_for,
    policy_for,
    with_staff_rule,
)
from .validation import (
    BYPASS_MAX_DAYS,
    check_bypass_until,
    check_in_force,
    clean_allowed_factors,
    ordered_factors,
)

__all__ = [
    "APPLICATION",
    "BYPASS_MAX_DAYS",
    "POLICY_FIELDS",
    "RISK_TRIGGERS",
    "STAFF_RULE",
    "TENANT",
    "EffectivePolicy",
    "PolicyExplanation",
    "check_bypass_until",
    "check_in_force",
    "clean_allowed_factors",
    "configured_policy",
    "explain_policy",
    "ordered_factors",
    "policies_for",
    "policy_for",
    "with_staff_rule",
]
