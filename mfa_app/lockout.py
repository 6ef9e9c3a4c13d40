"""Per-user throttling of MFA answers, across factors, challenges and sessions (RL-01 to RL-07).

Every answer is counted as wrong before it is checked, by one conditional UPDATE that only
succeeds while the user is not locked; a right answer then clears the count. So a burst of
parallel guesses gets no more tries than the limit, whatever the number of processes, and
neither a new challenge, a resend, the password again nor a new session resets anything.

After ``MFA_LOCKOUT_DELAY_AFTER`` wrong answers in a row each one makes the next wait
``MFA_LOCKOUT_BASE_DELAY`` seconds, doubling up to ``MFA_LOCKOUT_MAX_DELAY``; from
``MFA_LOCKOUT_THRESHOLD`` on, each one locks MFA for ``MFA_LOCKOUT_DURATION`` (staff can unlock).
"""

import math
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, F, Q, Value, When

from . import clock, errors
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


def reserve_attempt(user: Any) -> None:
    """Count one answer as wrong until it proves right; ``RateLimited`` while the user waits."""
    now = clock.now()
    threshold = app_settings.LOCKOUT_THRESHOLD
    # The wait that the new count (the current one + 1) brings, decided in the same UPDATE;
    # counts that bring the same wait share one branch, so the CASE stays short.
    waits = [
        When(failed_attempts__gte=low, failed_attempts__lte=high, then=Value(now + wait))
        for low, high, wait in _wait_ranges(threshold)
    ]
    waits.append(When(failed_attempts__gte=threshold, then=Value(now + wait_after(threshold))))
    not_waiting = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    for _attempt in range(2):
        counted = UserState.objects.filter(not_waiting, user=user).update(
            failed_attempts=F("failed_attempts") + 1,
            locked_until=Case(*waits, default=Value(None)),
        )
        if counted:
            return
        # No state yet (a first answer ever), or a wait: create the row if missing and retry.
        UserState.objects.bulk_create([UserState(user=user)], ignore_conflicts=True)
    raise locked_error(UserState.objects.get(user=user).locked_until, now)


def _wait_ranges(threshold: int) -> list[tuple[int, int, timedelta]]:
    """(lowest, highest current count, wait) for the counts below ``threshold`` that wait."""
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


def attempt_succeeded(user: Any, *, mfa_passed: bool = False) -> None:
    """A right answer: the count and any wait go; ``mfa_passed`` also notes when (RISK_BASED)."""
    changes: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
    if mfa_passed:
        changes["last_mfa_at"] = clock.now()
    UserState.objects.filter(user=user).update(**changes)


def release_attempt(user: Any) -> None:
    """Take back a reserved attempt that was no answer at all (the sign-in ended meanwhile)."""
    UserState.objects.filter(user=user, failed_attempts__gt=0).update(
        failed_attempts=F("failed_attempts") - 1,
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
