"""Remembered devices and staff-granted bypasses: the two ways a sign-in skips its challenge."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from .. import clock, devices, errors, events, lockout, upsert
from ..models import TrustedDevice, UserState
from ..policy import check_bypass_until, policy_for
from .status import Kind, is_id

# --- remembered devices ---------------------------------------------------------------------


def remember_device(user: Any, request: HttpRequest) -> TrustedDevice:
    """Trust this browser for the policy's lifetime; ``FactorNotAllowed`` if the policy says no."""
    policy = policy_for(user)
    if not policy.trusted_devices_enabled:
        raise errors.FactorNotAllowed()
    device = devices.remember(user, request, policy.trusted_device_days)
    events.record(
        Kind.DEVICE_REMEMBERED,
        user,
        request,
        device=device.pk,
        days=policy.trusted_device_days,
    )
    return device


def trusted_devices(user: Any) -> QuerySet:
    """The user's remembered browsers that still skip the challenge, newest first."""
    return TrustedDevice.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=clock.now()
    ).order_by("-created_at")


def this_browsers_trust(user: Any, request: HttpRequest | None) -> TrustedDevice | None:
    """The remembered-device record of the browser making ``request``, if it is one."""
    return devices.trusted_device(user, request)


def revoke_devices(
    user: Any,
    device_id: Any = None,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    reason: str = "",
) -> int:
    """Revoke one remembered device (``device_id``) or all of them; return how many."""
    if device_id is None:
        revoked = _revoke_all(user)
    else:
        if not is_id(device_id):
            raise errors.FactorNotFound()
        revoked = trusted_devices(user).filter(pk=int(device_id)).update(revoked_at=clock.now())
        if not revoked:
            raise errors.FactorNotFound()
    if revoked:
        events.record(Kind.DEVICE_REVOKED, user, request, actor=actor, count=revoked, reason=reason)
    return revoked


def _revoke_all(user: Any) -> int:
    """Revoke every device ``trusted_devices`` lists. Every recovery-code sign-in does, most
    often with none to revoke: written in SQL once where the database allows (``upsert``)."""
    now = clock.now()
    connection = upsert.connection_for(TrustedDevice)
    if not upsert.supported(connection):
        return trusted_devices(user).update(revoked_at=now)
    t = upsert.names(TrustedDevice, connection)
    at = upsert.prep(TrustedDevice, "revoked_at", now, connection)
    user_pk = upsert.prep(TrustedDevice, "user", user.pk, connection)
    # Quoted model names only: every value is a parameter.
    sql = f"UPDATE {t.table} SET {t.revoked_at} = %s WHERE {t.user} = %s"  # noqa: S608  # nosec B608
    sql += f" AND {t.revoked_at} IS NULL AND {t.expires_at} > %s"
    return upsert.execute(connection, sql, [at, user_pk, at])[0]


def note_password_changed(user: Any) -> None:
    """A new password: remembered devices end, and RISK_BASED's trigger can fire."""
    now = clock.now()
    UserState.objects.update_or_create(user=user, defaults={"password_changed_at": now})
    revoke_devices(user, reason="password_changed")


# --- bypass ---------------------------------------------------------------------------------


def grant_bypass(
    user: Any, until: datetime, reason: str, actor: Any, request: HttpRequest | None = None
) -> UserState:
    """Let ``user`` sign in without MFA until ``until`` (a user who lost every factor).

    ``until`` is in the future, at most ``mfa_app.policy.BYPASS_MAX_DAYS`` days away. Their
    factors stay; the bypass is logged with the reason and who granted it.
    """
    if actor is not None and actor.pk == user.pk:
        # Staff sign in with MFA; one who could lift their own would make it optional.
        raise errors.InvalidBypass(str(errors.MESSAGES["bypass_self"]))
    reason = " ".join(str(reason).split())
    if not reason:
        raise errors.InvalidBypass(str(errors.MESSAGES["bypass_reason"]))
    check_bypass_until(until)
    state, _created = UserState.objects.update_or_create(
        user=user,
        defaults={
            "bypass_until": until,
            "bypass_reason": reason[:300],
            "bypass_granted_by": actor.get_username() if actor is not None else "",
        },
    )
    events.record(
        Kind.BYPASS_GRANTED, user, request, actor=actor, until=until.isoformat(), reason=reason
    )
    return state


def end_bypass(user: Any, actor: Any = None, request: HttpRequest | None = None) -> bool:
    """Staff: end the user's running bypass now; ``True`` if there was one (audited)."""
    ended = UserState.objects.filter(user=user, bypass_until__gt=clock.now()).update(
        bypass_until=None
    )
    if ended:
        events.record(Kind.BYPASS_ENDED, user, request, actor=actor)
    return bool(ended)


def active_bypass(user: Any) -> UserState | None:
    """The user's state while a bypass runs (``bypass_until``, reason, granted by), else None."""
    return UserState.objects.filter(user=user, bypass_until__gt=clock.now()).first()


# --- lockout --------------------------------------------------------------------------------


def unlock_mfa(user: Any, actor: Any = None, request: HttpRequest | None = None) -> bool:
    """Staff: clear a user's wrong-answer count and wait; ``True`` if there was one."""
    unlocked = lockout.unlock(user)
    if unlocked:
        events.record(Kind.UNLOCKED, user, request, actor=actor)
    return unlocked
