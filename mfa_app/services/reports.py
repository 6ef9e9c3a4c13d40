"""What staff read about a user's MFA and about a policy, JSON-ready.

``manage.py mfa_status`` and ``mfa_policy --json`` print these, and the staff API sends them,
so a script sees the same object whichever way it asks.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .. import lockout
from ..conf import app_settings
from ..factors import factor_for_device
from ..models import MFAEvent, TenantPolicy, UserState
from ..policy import POLICY_FIELDS
from .policies import explain_policy, get_policy, policy_values
from .status import mfa_status
from .trust import active_bypass, trusted_devices

EVENTS_SHOWN = 10


def user_by_id(value: Any) -> Any | None:
    """The user whose primary key is ``value`` (any spelling the key accepts), or ``None``."""
    model = get_user_model()
    try:
        return model._default_manager.filter(pk=model._meta.pk.to_python(value)).first()
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def event_summary(event: MFAEvent) -> str:
    """The event's details in one line (audit details never hold a secret)."""
    details = event.details if isinstance(event.details, dict) else {}
    if event.kind == MFAEvent.Kind.DECISION:
        reasons = details.get("reasons")
        reasons = ", ".join(map(str, reasons)) if isinstance(reasons, list) else ""
        return f"{details.get('outcome', '?')}: {reasons or '-'}"
    return ", ".join(f"{key}={value}" for key, value in sorted(details.items()))


def user_status(user: Any, events: int | None = EVENTS_SHOWN) -> dict[str, Any]:
    """``user``'s MFA: policy and where each setting comes from, factors (never a secret),
    recovery codes left, remembered devices, lockout, bypass, and the last ``events`` audit
    events (``None``: no ``events`` key)."""
    status = mfa_status(user)
    explanation = explain_policy(user)
    state = UserState.objects.filter(user=user).first()
    bypass = active_bypass(user)
    values = policy_values(explanation.policy)
    report = {
        "user": {"id": str(user.pk), "username": user.get_username()},
        "enabled": status.enabled,
        "policy": {
            "requirement": explanation.policy.requirement,
            "source": explanation.configured.source,
            "tenant": str(explanation.tenant) if explanation.tenant is not None else None,
            "staff_rule": explanation.policy.staff_rule,
            "settings": {
                name: {"value": values[name], "from": explanation.source_of(name)}
                for name in POLICY_FIELDS
            },
        },
        "factors": [
            {
                "type": factor_for_device(device).type,
                "name": device.name,
                "primary": device.is_primary,
                "destination": device.masked_destination,
                "added": _iso(device.created_at),
                "last_used": _iso(device.last_used_at),
            }
            for device in status.factors
        ],
        "recovery_codes_remaining": status.recovery_codes_remaining,
        "remembered_devices": trusted_devices(user).count(),
        "lockout": {
            "failed_attempts": state.failed_attempts if state is not None else 0,
            "locked_until": _iso(lockout.locked_until(user)),
        },
        "bypass": (
            {
                "until": _iso(bypass.bypass_until),
                "reason": bypass.bypass_reason,
                "granted_by": bypass.bypass_granted_by,
            }
            if bypass is not None
            else None
        ),
    }
    if events is not None:
        report["events"] = [
            {
                "time": _iso(event.created_at),
                "kind": event.kind,
                "factor": event.factor_type,
                "actor": event.actor,
                "ip": event.ip_address,
                "summary": event_summary(event),
            }
            for event in MFAEvent.objects.filter(user=user)[:events]
        ]
    return report


def policy_report(tenant: Any = None) -> dict[str, Any]:
    """The application policy, or ``tenant``'s own (``policy`` ``None`` while it has none)."""
    policy = get_policy(tenant)
    return {
        "scope": "tenant" if tenant is not None else "application",
        "tenant": {"id": str(tenant.pk), "name": str(tenant)} if tenant is not None else None,
        "override": policy.override if isinstance(policy, TenantPolicy) else None,
        "policy": policy_values(policy) if policy is not None else None,
        "staff_always_required": app_settings.STAFF_ALWAYS_REQUIRED,
    }
