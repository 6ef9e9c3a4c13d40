"""Pending logins and their challenges: start, verify, count failures, end."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from .. import clock, errors, events, lockout, throttle, upsert
from ..conf import app_settings
from ..factors import get_factor
from ..models import (
    Challenge,
    FactorModel,
)
from .recovery_codes import _replace_recovery_codes, recovery_code_spent
from .status import (
    CHALLENGE,
    Kind,
    challenge_factor_types,
    get_user_factor,
    recovery_codes_remaining,
)

HOUR = timedelta(hours=1)

# --- challenges -----------------------------------------------------------------------------


def start_challenge(
    user: Any, request: HttpRequest | None = None, reason: str = CHALLENGE
) -> Challenge:
    """Open the server-side record of a pending login (a challenge, or a forced enrollment)."""
    now = clock.now()
    tenant = events.tenant_label_of(user)
    challenge = upsert.create(
        Challenge,
        user=user,
        created_at=now,
        expires_at=now + timedelta(seconds=app_settings.CHALLENGE_TIMEOUT),
        tenant=tenant,
    )
    events.record(
        Kind.CHALLENGED,
        user,
        request,
        tenant_label=tenant,
        challenge=str(challenge.pk),
        reason=reason,
    )
    return challenge


def begin_challenge(
    user: Any,
    factor_type: str,
    request: HttpRequest,
    factor_types: list[str] | None = None,
    *,
    challenge_id: Any = None,
    device_id: Any = None,
    send: bool = True,
) -> dict[str, Any]:
    """Prepare an answer with ``factor_type``; return what the page needs.

    WebAuthn gets fresh options. An SMS or email factor (``device_id``) is sent a code unless
    this sign-in already sent it one that still works; a refused send is reported in the context
    (``send_error``, ``retry_after``) rather than raised, so the page can still be shown.
    ``send=False`` (the form shown again after a wrong answer) sends nothing.
    ``factor_types``: ``challenge_factor_types(user)`` when the caller has it already.
    """
    if factor_type not in (factor_types or challenge_factor_types(user)):
        raise errors.FactorNotAllowed()
    factor = get_factor(factor_type)
    if not factor.per_device:
        return factor.begin_challenge(user, request)
    challenge = _live_challenge(user, challenge_id)
    device = get_user_factor(user, factor_type, device_id)
    return factor.begin_challenge(user, request, challenge=challenge, device=device, send=send)


def send_challenge_code(
    user: Any, challenge_id: Any, factor_type: str, device_id: Any, request: HttpRequest | None
) -> FactorModel:
    """Send (again) a code to one of the user's SMS or email factors for this sign-in.

    The new code replaces the previous one. Raises ``FactorNotAllowed``, ``FactorNotFound``,
    the challenge's errors, ``RateLimited``, ``DeliveryFailed``.
    """
    if factor_type not in challenge_factor_types(user):
        raise errors.FactorNotAllowed()
    factor = get_factor(factor_type)
    if not factor.per_device:
        raise errors.FactorNotFound()
    challenge = _live_challenge(user, challenge_id)
    device = get_user_factor(user, factor_type, device_id)
    factor.send(user, factor.destination(device), request, challenge=challenge, device=device)
    return device


def is_pending(user: Any, challenge_id: Any) -> bool:
    """Whether this pending login is still open: not finished, not ended by a password change."""
    return _challenge_exists(user, challenge_id, passed=False)


def pending_challenge(user: Any, challenge_id: Any) -> Challenge | None:
    """The challenge of this pending login while it is open, else ``None``.

    The row, with its user, so that answering it in the same request need not read either
    again. ``user``: the user or their pk.
    """
    try:
        connection = upsert.connection_for(Challenge)
        if upsert.supported(connection):
            return _pending_challenge_in_sql(getattr(user, "pk", user), challenge_id, connection)
        return (
            Challenge.objects.select_related("user")
            .filter(pk=challenge_id, user=user, verified_at__isnull=True)
            .first()
        )
    except (ValidationError, ValueError, TypeError):
        return None


def _pending_challenge_in_sql(user_pk: Any, challenge_id: Any, connection: Any) -> Challenge | None:
    """``pending_challenge``'s join of the challenge and its user, written once (``upsert``)."""
    user_model = Challenge._meta.get_field("user").related_model
    c, u = upsert.names(Challenge, connection), upsert.names(user_model, connection)
    user_pk_column = getattr(u, user_model._meta.pk.attname)
    # Quoted model names only: every value is a parameter.
    sql = (
        f"SELECT {upsert.columns(Challenge, connection)}, {upsert.columns(user_model, connection)} "  # nosec B608
    )
    sql += (
        f"FROM {c.table} INNER JOIN {u.table} ON {u.table}.{user_pk_column} = {c.table}.{c.user} "
    )
    sql += f"WHERE {c.table}.{c.id} = %s AND {c.table}.{c.user} = %s "
    sql += f"AND {c.table}.{c.verified_at} IS NULL"
    params = [
        upsert.prep(Challenge, "id", challenge_id, connection),
        upsert.prep(Challenge, "user", user_pk, connection),
    ]
    row = upsert.execute(connection, sql, params)[1]
    if row is None:
        return None
    own = len(Challenge._meta.concrete_fields)
    challenge = upsert.instance(Challenge, row[:own], connection)
    challenge.user = upsert.instance(user_model, row[own:], connection)
    return challenge


def was_passed(user: Any, challenge_id: Any) -> bool:
    """Whether ``challenge_id`` is a challenge of ``user`` (or a user's pk) that was passed."""
    return _challenge_exists(user, challenge_id, passed=True)


def _challenge_exists(user: Any, challenge_id: Any, *, passed: bool) -> bool:
    try:
        return Challenge.objects.filter(
            pk=challenge_id, user=user, verified_at__isnull=not passed
        ).exists()
    except (ValidationError, ValueError, TypeError):
        return False


def end_pending_logins(user: Any) -> None:
    """End every unfinished login of ``user``: after a password change or an MFA reset."""
    Challenge.objects.filter(user=user, verified_at__isnull=True).delete()


def end_pending_login(user: Any, challenge_id: Any) -> None:
    """End one unfinished login of ``user`` (or a user's pk): it was cancelled."""
    try:
        Challenge.objects.filter(pk=challenge_id, user=user, verified_at__isnull=True).delete()
    except (ValidationError, ValueError, TypeError):
        return


def finish_enrollment(user: Any, challenge_id: Any, factor_type: str) -> bool:
    """Close the pending login that had to enroll; ``False`` if it ended meanwhile."""
    try:
        closed = Challenge.objects.filter(
            pk=challenge_id, user=user, verified_at__isnull=True, expires_at__gt=clock.now()
        ).update(verified_at=clock.now(), factor_type=factor_type)
    except (ValidationError, ValueError, TypeError):
        return False
    return closed == 1


@dataclass
class Verification:
    """A passed challenge: the factor and device that passed it, and any new recovery codes."""

    challenge: Challenge
    factor_type: str
    device: FactorModel
    new_recovery_codes: list[str] = field(default_factory=list)
    # Passed with a recovery code: how many of the set are left (``None``: not one).
    recovery_codes_left: int | None = None
    # The user's session epoch as read in the answer's transaction (None: not read).
    session_epoch: int | None = None


def verify_challenge(
    user: Any,
    challenge_id: Any,
    factor_type: str,
    code: str,
    request: HttpRequest | None = None,
    factor_types: list[str] | None = None,
    *,
    challenge: Challenge | None = None,
    on_success: Callable[[Verification], Any] | None = None,
) -> Verification:
    """Check ``code`` against the challenge; spend both on success, count a failure otherwise.

    Raises ``FactorNotAllowed``, ``ChallengeExpired``, ``ChallengeAlreadyVerified``,
    ``LockedOut`` (this challenge is over), ``RateLimited`` (the user must wait: growing
    delays, then the lockout; or the client's IP sent too many answers) or ``InvalidCode``
    (with ``attempts_left`` in ``extra``).
    ``factor_types``: ``challenge_factor_types(user)`` when the caller has it already;
    ``challenge``: the challenge row when the caller has read it already (checked again here).
    ``on_success(verification)``: what a right answer does besides (sign the user in), run in
    the same transaction as the spend, so both happen or neither does.

    One transaction per answer: the rate-limit hit, the reserved attempt, the spend, the audit
    events and ``on_success`` commit together. A wrong answer commits its count (and its
    events) before ``InvalidCode`` or ``LockedOut`` is raised; any other error rolls it all
    back, the reserved attempt included, as the answer never got checked.
    """
    if factor_type not in (factor_types or challenge_factor_types(user)):
        raise errors.FactorNotAllowed()
    if challenge is None or str(challenge.pk) != str(challenge_id):
        challenge = _live_challenge(user, challenge_id)
    else:
        _check_live(challenge)
    failure: errors.MFAError | None = None
    with transaction.atomic():
        throttle.hit_for_ip(request, "answers", app_settings.IP_ATTEMPTS_PER_HOUR, HOUR)
        # Counted as wrong from here on, whatever the factor, until it proves right. The
        # conditional UPDATE also holds the user's row until this transaction ends, so
        # parallel answers of one user are checked one after the other (PostgreSQL).
        session_epoch = lockout.reserve_attempt(user)
        now = clock.now()
        try:
            device = get_factor(factor_type).verify_answer(user, code, request, challenge)
        except errors.InvalidCode as exc:
            failure = _count_failure(user, challenge, factor_type, request, exc)
        else:
            if device is None:
                failure = _count_failure(user, challenge, factor_type, request)
        if failure is None:
            verification = _passed(user, challenge, factor_type, device, request, now)
            verification.session_epoch = session_epoch
            if on_success is not None:
                on_success(verification)
    if failure is not None:
        raise failure
    return verification


def _passed(
    user: Any,
    challenge: Challenge,
    factor_type: str,
    device: FactorModel,
    request: HttpRequest | None,
    now: Any,
) -> Verification:
    if not _mark_passed(challenge, factor_type, now):
        # The challenge ended meanwhile (another request won, or it expired or locked):
        # raising rolls back, so the code stays unspent and the attempt is not counted.
        _live_challenge(user, challenge.pk)
        raise errors.ChallengeAlreadyVerified()
    fallback = get_factor(factor_type).is_fallback
    if fallback:
        recovery_code_spent(user, request)
    # This sign-in's wrong answers were the user's own typing; the others stay, to decay.
    # And when MFA was passed: ``note_mfa_passed(..., noted=True)`` need not write it again.
    lockout.attempt_succeeded(user, own_failures=challenge.failures, mfa_passed=True)
    tenant = challenge.tenant
    events.record(Kind.VERIFIED, user, request, factor_type=factor_type, tenant_label=tenant)
    verification = Verification(challenge, factor_type, device)
    if fallback:
        remaining = verification.recovery_codes_left = recovery_codes_remaining(user, device)
        events.record(
            Kind.RECOVERY_CODE_USED,
            user,
            request,
            factor_type=factor_type,
            tenant_label=tenant,
            remaining=remaining,
        )
        if remaining == 0:
            verification.new_recovery_codes = _replace_recovery_codes(user, request)
    return verification


def _mark_passed(challenge: Challenge, factor_type: str, now: Any) -> bool:
    """Mark the challenge passed if it still may be; ``False`` if it ended meanwhile."""
    connection = upsert.connection_for(Challenge)
    if not upsert.supported(connection):
        return bool(
            Challenge.objects.filter(
                pk=challenge.pk,
                verified_at__isnull=True,
                failures__lt=app_settings.MAX_ATTEMPTS,
                expires_at__gt=now,
            ).update(verified_at=now, factor_type=factor_type)
        )
    c = upsert.names(Challenge, connection)
    at = upsert.prep(Challenge, "verified_at", now, connection)
    # Quoted model names only: every value is a parameter.
    sql = f"UPDATE {c.table} SET {c.verified_at} = %s, {c.factor_type} = %s WHERE {c.id} = %s"  # noqa: S608  # nosec B608
    sql += f" AND {c.verified_at} IS NULL AND {c.failures} < %s AND {c.expires_at} > %s"
    pk = upsert.prep(Challenge, "id", challenge.pk, connection)
    params = [at, factor_type, pk, app_settings.MAX_ATTEMPTS, at]
    return upsert.execute(connection, sql, params)[0] == 1


def _live_challenge(user: Any, challenge_id: Any) -> Challenge:
    try:
        challenge = Challenge.objects.get(pk=challenge_id, user=user)
    except (Challenge.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise errors.ChallengeExpired() from exc
    _check_live(challenge)
    return challenge


def _check_live(challenge: Challenge) -> None:
    if challenge.verified_at is not None:
        raise errors.ChallengeAlreadyVerified()
    if challenge.failures >= app_settings.MAX_ATTEMPTS:
        raise errors.LockedOut()
    if challenge.expires_at <= clock.now():
        raise errors.ChallengeExpired()


def _count_failure(
    user: Any,
    challenge: Challenge,
    factor_type: str,
    request: Any,
    rejection: errors.InvalidCode | None = None,
) -> errors.MFAError:
    """Count a wrong answer on the challenge; return the error to raise once it is committed."""
    counted = Challenge.objects.filter(pk=challenge.pk, verified_at__isnull=True).update(
        failures=F("failures") + 1
    )
    if not counted:
        # A concurrent request with the same code won: this one lost a race, not a guess.
        _live_challenge(user, challenge.pk)
    failures = Challenge.objects.values_list("failures", flat=True).get(pk=challenge.pk)
    # The factor's reason for refusing (e.g. a WebAuthn counter that went back) goes on record,
    # with the challenge: a sign-in's and a step-up's wrong answers are told apart by it.
    details = {**(rejection.extra if rejection is not None else {}), "challenge": str(challenge.pk)}
    tenant = challenge.tenant
    events.record(
        Kind.FAILED,
        user,
        request,
        factor_type=factor_type,
        tenant_label=tenant,
        failures=failures,
        **details,
    )
    if failures >= app_settings.MAX_ATTEMPTS:
        events.record(
            Kind.LOCKED_OUT,
            user,
            request,
            factor_type=factor_type,
            tenant_label=tenant,
            failures=failures,
        )
        return errors.LockedOut()
    message = rejection.message if rejection is not None else None
    return errors.InvalidCode(message, attempts_left=app_settings.MAX_ATTEMPTS - failures)
