"""The audit log: one function writes the row and sends the matching signal."""

from typing import Any

from django.http import HttpRequest

from . import clock, signals, upsert
from .client_ip import client_ip
from .models import MFAEvent
from .tenants import tenant_for

Kind = MFAEvent.Kind

SIGNALS = {
    Kind.ENROLLED: signals.factor_enrolled,
    Kind.CHALLENGED: signals.challenge_started,
    Kind.CODE_SENT: signals.code_sent,
    Kind.VERIFIED: signals.challenge_passed,
    Kind.FAILED: signals.challenge_failed,
    Kind.LOCKED_OUT: signals.locked_out,
    Kind.RECOVERY_CODE_USED: signals.recovery_code_used,
    Kind.RECOVERY_CODES_GENERATED: signals.recovery_codes_generated,
    Kind.FACTOR_REMOVED: signals.factor_removed,
    Kind.RESET: signals.mfa_reset,
    Kind.DECISION: signals.login_decided,
    Kind.DEVICE_REMEMBERED: signals.device_remembered,
    Kind.DEVICE_REVOKED: signals.device_revoked,
    Kind.ENROLLMENT_POSTPONED: signals.enrollment_postponed,
    Kind.BYPASS_GRANTED: signals.bypass_granted,
    Kind.BYPASS_ENDED: signals.bypass_ended,
    Kind.UNLOCKED: signals.mfa_unlocked,
    Kind.SESSIONS_ENDED: signals.sessions_ended,
    Kind.NEW_DEVICE_SIGN_IN: signals.new_device_signed_in,
    Kind.POLICY_CHANGED: signals.policy_changed,
    Kind.IMPORTED: signals.factor_imported,
}


def record(
    kind: str,
    user: Any,
    request: HttpRequest | None = None,
    *,
    factor_type: str = "",
    actor: Any = None,
    tenant_label: str | None = None,
    **details: Any,
) -> MFAEvent:
    """Write an audit event for ``user`` and send its signal. Never pass secrets in ``details``.

    ``tenant_label``: the user's tenant as ``tenant_label_of`` names it, when the caller has it
    (a challenge keeps its user's); otherwise the site's resolver is asked.
    """
    if tenant_label is None:
        tenant_label = tenant_label_of(user)
    return _write(kind, user, tenant_label, request, factor_type, actor, details)


def tenant_label_of(user: Any) -> str:
    """The user's tenant as the audit log names it: ``""`` for none."""
    return _label(tenant_for(user))


def _label(tenant: Any) -> str:
    return str(tenant) if tenant is not None else ""


def record_policy_change(
    tenant: Any, request: HttpRequest | None = None, *, actor: Any = None, **details: Any
) -> MFAEvent:
    """Write a ``policy_changed`` event: the application's policy, or ``tenant``'s.

    A policy has no subject user, so the row has none (``user`` is nullable); who changed it
    is the ``actor``, and ``tenant`` names the tenant whose policy it was.
    """
    return _write(Kind.POLICY_CHANGED, None, _label(tenant), request, "", actor, details)


def _write(
    kind: str,
    user: Any,
    tenant_label: str,
    request: HttpRequest | None,
    factor_type: str,
    actor: Any,
    details: dict[str, Any],
) -> MFAEvent:
    event = upsert.create(
        MFAEvent,
        kind=kind,
        user=user,
        username=user.get_username() if user is not None else "",
        tenant=tenant_label,
        factor_type=factor_type,
        ip_address=client_ip(request),
        user_agent=(request.headers.get("User-Agent", "")[:300] if request is not None else ""),
        actor=actor.get_username() if actor is not None else "",
        details=details,
        created_at=clock.now(),
    )
    SIGNALS[kind].send(sender=MFAEvent, event=event, user=user, request=request)
    return event
