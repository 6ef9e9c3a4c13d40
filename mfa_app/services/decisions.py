"""What a sign-in needs, and why: the policy engine's one decision per login."""

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from .. import clock, devices, errors, events, risk
from ..conf import app_settings
from ..models import UserState
from ..policy import EffectivePolicy, policy_for
from .status import CHALLENGE, ENROLL, Kind, sign_in_facts


@dataclass(frozen=True)
class Decision:
    """``outcome`` is ``CHALLENGE``, ``ENROLL`` or ``None`` (no MFA for this sign-in)."""

    outcome: str | None
    reasons: tuple[str, ...]
    policy: EffectivePolicy | None = field(default=None, compare=False)


def decide(user: Any, request: HttpRequest | None = None, backend: str = "") -> Decision:
    """Decide, from the policy, the user's factors, this browser and the risk triggers.

    Reasons, in the order they were found: ``exempt_backend``, ``staff_rule``, ``bypass``,
    ``disabled``, ``trusted_device``, ``factor_enrolled``, ``required``, ``grace_period``,
    ``no_factor``, ``no_risk`` and the risk triggers (``new_device``, ``new_location``,
    ``suspicious_ip``, ``password_changed`` or a custom evaluator's).
    """
    if backend and backend in app_settings.EXEMPT_BACKENDS:
        return Decision(None, ("exempt_backend",))
    policy = policy_for(user)
    reasons = ["staff_rule"] if policy.staff_rule else []
    bypass_until, has_factor = sign_in_facts(user, policy)
    if bypass_until and bypass_until > clock.now():
        return Decision(None, (*reasons, "bypass"), policy)
    if policy.disabled:
        return Decision(None, (*reasons, "disabled"), policy)
    if has_factor:
        trusted = devices.trusted_device(user, request) if policy.trusted_devices_enabled else None
        if trusted is not None:
            trusted.last_used_at = clock.now()
            trusted.save(update_fields=["last_used_at"])
            return Decision(None, (*reasons, "trusted_device"), policy)
        if policy.risk_based:
            return _risk_decision(CHALLENGE, user, request, policy, reasons)
        return Decision(CHALLENGE, (*reasons, "factor_enrolled"), policy)
    if policy.required:
        grace = ("grace_period",) if policy.grace_period_days else ()
        return Decision(ENROLL, (*reasons, "required", *grace), policy)
    if policy.risk_based:
        return _risk_decision(ENROLL, user, request, policy, reasons)
    return Decision(None, (*reasons, "no_factor"), policy)


def login_requirement(user: Any, backend: str = "", request: Any = None) -> str | None:
    """Say what a fresh login of ``user`` needs: ``CHALLENGE``, ``ENROLL`` or nothing.

    ``decide()`` gives the reasons too; with a ``request``, remembered devices and risk
    triggers play their part.
    """
    return decide(user, request, backend).outcome


def _risk_decision(
    outcome: str, user: Any, request: Any, policy: EffectivePolicy, reasons: list[str]
) -> Decision:
    triggers = risk.evaluate(user, request, policy)
    if not triggers:
        return Decision(None, (*reasons, "no_risk"), policy)
    return Decision(outcome, (*reasons, *triggers), policy)


def record_decision(user: Any, decision: Decision, request: HttpRequest | None) -> None:
    """Write ``decision`` to the audit log (kind ``decision``: its outcome and reasons)."""
    events.record(
        Kind.DECISION,
        user,
        request,
        outcome=decision.outcome or "none",
        reasons=list(decision.reasons),
    )


def note_mfa_passed(user: Any, request: HttpRequest | None, *, noted: bool = False) -> None:
    """A sign-in passed MFA: remember its browser and network, and when (for RISK_BASED).

    ``noted``: the when is written already (``verify_challenge`` does, with its own update).
    """
    if not noted and not UserState.objects.filter(user=user).update(last_mfa_at=clock.now()):
        UserState.objects.create(user=user, last_mfa_at=clock.now())
    risk.record_login(user, request)


def user_state(user: Any) -> UserState:
    """The user's ``UserState`` (grace period, lockout, bypass), created if missing."""
    state, _created = UserState.objects.get_or_create(user=user)
    return state


# --- grace period ---------------------------------------------------------------------------


def note_enrollment_asked(user: Any) -> None:
    """Start the grace period's clock the first time the user is asked to enroll."""
    UserState.objects.get_or_create(user=user, defaults={"enrollment_asked_at": clock.now()})
    UserState.objects.filter(user=user, enrollment_asked_at__isnull=True).update(
        enrollment_asked_at=clock.now()
    )


def grace_days_left(user: Any, policy: EffectivePolicy | None = None) -> int:
    """Whole days (rounded up) the user may still postpone enrollment; 0 once it is over."""
    policy = policy or policy_for(user)
    if not (policy.required and policy.grace_period_days):
        return 0
    state = UserState.objects.filter(user=user).first()
    asked = state.enrollment_asked_at if state is not None else None
    if asked is None:
        return policy.grace_period_days
    left = asked + timedelta(days=policy.grace_period_days) - clock.now()
    return max(0, math.ceil(left.total_seconds() / 86400))


def postpone_enrollment(user: Any, request: HttpRequest | None = None) -> int:
    """Let a user under REQUIRED skip enrollment this time; raise ``GracePeriodOver`` if late."""
    left = grace_days_left(user)
    if not left:
        raise errors.GracePeriodOver()
    events.record(Kind.ENROLLMENT_POSTPONED, user, request, days_left=left)
    return left
