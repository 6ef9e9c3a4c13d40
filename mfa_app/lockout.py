"""Per-user throttling of MFA answers, across factors, challenges and sessions (RL-01 to RL-08).

Every answer is counted as wrong before it is checked, by one conditional UPDATE that only
succeeds while the user is not locked; a right answer then takes back its own count and its
sign-in's wrong answers. So a burst of parallel guesses gets no more tries than the limit,
whatever the number of processes, and neither a new challenge, a resend, the password again
nor a new session resets anything.

Other wrong answers only decay: one is forgiven every ``MFA_LOCKOUT_DECAY`` seconds. Were the
real user's success to clear them, an attacker with the password who stops short of the lock
would get a fresh set of guesses each time the user signs in (RL-08).

After ``MFA_LOCKOUT_DELAY_AFTER`` wrong answers in a row each one makes the next wait
``MFA_LOCKOUT_BASE_DELAY`` seconds, doubling up to ``MFA_LOCKOUT_MAX_DELAY``; from
``MFA_LOCKOUT_THRESHOLD`` on, each one locks MFA for ``MFA_LOCKOUT_DURATION`` (staff can unlock).
"""

import math
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

from . import clock, errors, upsert
from .conf import app_settings
from .models import UserState


def wait_after(failures: int) -> timedelta | None:
    """How long the user must wait after ``failures`` wrong answers in a row."""
    if failures >= app_settings.LOCKOUT_THRESHOLD:
        return timedelta(seconds=app_settings.LOCKOUT_DURATION)
    beyond = failures - app_settings.LOCKOUT_DELAY_AFTER
    if beyond < 0:
        return None
    delay = app_settings.LOCKOUT_BASE_DELAY * 2 ** min(beyond, 30)
    return timedelta(seconds=min(delay, app_settings.LOCKOUT_MAX_DELAY))


def reserve_attempt(user: Any) -> int | None:
    """Count one answer as wrong until it proves right; ``RateLimited`` while the user waits.

    Returns the user's session epoch where the reservation could read it in passing (else
    ``None``): the reservation holds the user's row until the transaction ends, so it stays
    the epoch for a sign-in completed in the same transaction.
    """
    now = clock.now()
    period = decay_period(now)
    connection = upsert.connection_for(UserState)
    if upsert.supported(connection):
        row = _reserve_in_one_statement(user, now, period, connection)
        if row is not None:
            return row[0]
    else:
        for _attempt in range(2):
            if _reserve_with_the_orm(user, now, period):
                return None
            # No state yet (a first answer ever), or a wait: create the row if missing, retry.
            UserState.objects.bulk_create([UserState(user=user)], ignore_conflicts=True)
    raise locked_error(UserState.objects.get(user=user).locked_until, now)


def _reserve_with_the_orm(user: Any, now: datetime, period: int) -> bool:
    threshold = app_settings.LOCKOUT_THRESHOLD
    # The wait that the new count (what decay left of the current one + 1) brings, decided in
    # the same UPDATE; counts that bring the same wait share one branch, so the CASE stays short.
    waits = [
        When(_left_at_least(low, period) & _left_at_most(high, period), then=Value(now + wait))
        for low, high, wait in _wait_ranges(*_wait_settings())
    ]
    waits.append(When(_left_at_least(threshold, period), then=Value(now + wait_after(threshold))))
    new_count = _left(period) + 1
    not_waiting = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    return bool(
        UserState.objects.filter(not_waiting, user=user).update(
            failed_attempts=new_count,
            failures_forgiven_period=new_count + period,
            locked_until=Case(*waits, default=Value(None)),
        )
    )


def _reserve_in_one_statement(
    user: Any, now: datetime, period: int, connection: Any
) -> tuple | None:
    """The reservation as one upsert (the state row is created by a first answer ever)."""
    set_sql, where_sql, recipe = _reserve_sql(connection.vendor, *_wait_settings())

    def at(wait: timedelta) -> Any:
        return upsert.prep(UserState, "locked_until", now + wait, connection)

    params = [period if item == "period" else at(item) for item in recipe]
    first_wait = wait_after(1)
    insert = upsert.insert_values(
        UserState,
        connection,
        {
            "user_id": getattr(user, "pk", user),
            "failed_attempts": 1,
            "failures_forgiven_period": 1 + period,
            "locked_until": now + first_wait if first_wait else None,
        },
    )
    epoch = connection.ops.quote_name("session_epoch")
    return upsert.run(
        UserState, connection, "user_id", insert, set_sql, where_sql, params, returning=epoch
    )


@lru_cache(maxsize=8)
def _reserve_sql(vendor: str, threshold: int, *key: int) -> tuple[str, str, tuple]:
    """The SET and WHERE of the reservation, built once per lockout settings: the same
    UPDATE as the ORM's, written out (every answer needs it). ``recipe`` says what each
    placeholder takes: ``"period"`` or a wait (``now`` + it)."""
    connection = upsert.connection_for(UserState)
    q = connection.ops.quote_name
    least, greatest = upsert.least_greatest(connection)
    table = q(UserState._meta.db_table)
    count, forgiven, until = (
        f"{table}.{q(name)}"
        for name in ("failed_attempts", "failures_forgiven_period", "locked_until")
    )
    # What decay left of the count (see _left).
    left = f"{least}({count}, {greatest}(COALESCE({forgiven} - %s, {count}), 0))"
    recipe: list = ["period", "period", "period"]
    branches = []
    for low, high, wait in _wait_ranges(threshold, *key):
        branches.append(f"WHEN {left} BETWEEN {int(low)} AND {int(high)} THEN %s")
        recipe += ["period", wait]
    branches.append(f"WHEN {left} >= {int(threshold)} THEN %s")
    recipe += ["period", wait_after(threshold)]
    set_sql = (
        f"{q('failed_attempts')} = {left} + 1, "
        f"{q('failures_forgiven_period')} = {left} + 1 + %s, "
        f"{q('locked_until')} = CASE {' '.join(branches)} ELSE NULL END"
    )
    recipe.append(timedelta(0))
    return set_sql, f"({until} IS NULL OR {until} <= %s)", tuple(recipe)


def decay_period(now: datetime) -> int:
    """The number of ``MFA_LOCKOUT_DECAY`` periods from the Unix epoch to ``now``."""
    return math.floor(now.timestamp() / app_settings.LOCKOUT_DECAY)


# What decay left of the count, in SQL: min(failed_attempts, forgiven period - period), at
# least 0. The stored count caps it, so a changed MFA_LOCKOUT_DECAY can only forgive more.
def _left(period: int) -> Any:
    count = F("failed_attempts")
    to_forgive = Coalesce(F("failures_forgiven_period") - Value(period), count)
    return Least(count, Greatest(to_forgive, Value(0)))


def _left_at_least(low: int, period: int) -> Q:
    if low <= 0:
        return Q()
    return Q(failed_attempts__gte=low) & (
        Q(failures_forgiven_period__isnull=True) | Q(failures_forgiven_period__gte=period + low)
    )


def _left_at_most(high: int, period: int) -> Q:
    return Q(failed_attempts__lte=high) | Q(failures_forgiven_period__lte=period + high)


def _wait_settings() -> tuple[int, ...]:
    names = ("THRESHOLD", "DELAY_AFTER", "BASE_DELAY", "MAX_DELAY", "DURATION")
    return tuple(getattr(app_settings, f"LOCKOUT_{name}") for name in names)


@lru_cache(maxsize=8)
def _wait_ranges(threshold: int, *_key: int) -> list[tuple[int, int, timedelta]]:
    """(lowest, highest current count, wait) for the counts below ``threshold`` that wait.

    Cached per lockout settings (``_key``), as every answer needs them.
    """
    ranges: list[tuple[int, int, timedelta]] = []
    for count in range(threshold):
        wait = wait_after(count + 1)
        if wait is None:
            continue
        if ranges and ranges[-1][2] == wait and ranges[-1][1] == count - 1:
            ranges[-1] = (ranges[-1][0], count, wait)
        else:
            ranges.append((count, count, wait))
    return ranges


def attempt_succeeded(user: Any, *, own_failures: int = 0, mfa_passed: bool = False) -> None:
    """A right answer: its reserved count, ``own_failures`` and any wait go.

    ``own_failures``: the wrong answers of the same sign-in, which the success shows were the
    user's own typing. Others stay, to decay. ``mfa_passed`` also notes when (RISK_BASED).
    """
    forgiven = own_failures + 1
    connection = upsert.connection_for(UserState)
    if upsert.supported(connection):
        _succeeded_in_sql(user, forgiven, mfa_passed, connection)
        return
    changes: dict[str, Any] = {
        "failed_attempts": Greatest(F("failed_attempts") - forgiven, Value(0)),
        "failures_forgiven_period": F("failures_forgiven_period") - forgiven,
        "locked_until": None,
    }
    if mfa_passed:
        changes["last_mfa_at"] = clock.now()
    UserState.objects.filter(user=user).update(**changes)


def _succeeded_in_sql(user: Any, forgiven: int, mfa_passed: bool, connection: Any) -> None:
    """``attempt_succeeded``'s UPDATE, written once (``upsert``)."""
    c = upsert.names(UserState, connection)
    greatest = upsert.least_greatest(connection)[1]
    params: list[Any] = [forgiven, forgiven]
    passed_sql = ""
    if mfa_passed:
        passed_sql = f", {c.last_mfa_at} = %s"
        params.append(upsert.prep(UserState, "last_mfa_at", clock.now(), connection))
    params.append(upsert.prep(UserState, "user", user.pk, connection))
    # Quoted model names only: every value is a parameter.
    sql = f"UPDATE {c.table} SET {c.failed_attempts} = {greatest}({c.failed_attempts} - %s, 0), "  # noqa: S608  # nosec B608
    sql += f"{c.failures_forgiven_period} = {c.failures_forgiven_period} - %s, "
    sql += f"{c.locked_until} = NULL{passed_sql} WHERE {c.user} = %s"
    upsert.execute(connection, sql, params)


def release_attempt(user: Any) -> None:
    """Take back a reserved attempt that was no answer at all (the sign-in ended meanwhile)."""
    UserState.objects.filter(user=user, failed_attempts__gt=0).update(
        failed_attempts=F("failed_attempts") - 1,
        failures_forgiven_period=F("failures_forgiven_period") - 1,
        # The wait this attempt brought goes with it (the new count needs none).
        locked_until=Case(
            When(failed_attempts__lte=app_settings.LOCKOUT_DELAY_AFTER, then=Value(None)),
            default=F("locked_until"),
        ),
    )


def unlock(user: Any) -> bool:
    """Staff: clear the count and the wait. ``True`` if there was anything to clear."""
    return bool(
        UserState.objects.filter(user=user)
        .filter(Q(failed_attempts__gt=0) | Q(locked_until__isnull=False))
        .update(failed_attempts=0, locked_until=None)
    )


def locked_until(user: Any) -> datetime | None:
    state = UserState.objects.filter(user=user, locked_until__gt=clock.now()).first()
    return state.locked_until if state is not None else None


def locked_error(until: datetime | None, now: datetime | None = None) -> errors.RateLimited:
    now = now or clock.now()
    seconds = max(1, math.ceil((until - now).total_seconds())) if until else 1
    locked = seconds > app_settings.LOCKOUT_MAX_DELAY
    message = errors.MESSAGES["mfa_locked" if locked else "mfa_wait"]
    return errors.RateLimited(str(message), retry_after=seconds, locked_until=until)
