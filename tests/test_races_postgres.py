"""Races: many connections presenting the same secret at once, on a real PostgreSQL server.

Each worker thread has its own database connection (Django's connections are per thread),
opens it before a barrier so that every worker starts its query together, and closes it at
the end. The data is committed (``transaction=True``) so that the workers can see it.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection

from mfa_app import errors, services
from mfa_app.factors import get_factor
from mfa_app.models import Challenge, MFAEvent, TOTPFactor

from .factories import TOTPFactorFactory, UserFactory, code_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT = 60


@dataclass
class Outcomes:
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def successes(self) -> list[Any]:
        return [r for r in self.results if r is not None]


def race(workers: int, action: Callable[[], Any]) -> Outcomes:
    """Run ``action`` in ``workers`` threads released together; collect returns and raises."""
    barrier = threading.Barrier(workers)
    outcomes = Outcomes()
    lock = threading.Lock()

    broken: list[BaseException] = []

    def worker() -> None:
        try:
            try:
                connection.ensure_connection()
                barrier.wait(timeout=JOIN_TIMEOUT)
            except Exception as exc:
                barrier.abort()  # release the others at once: this race cannot be run
                with lock:
                    broken.append(exc)
                return
            try:
                result = action()
            except Exception as exc:
                with lock:
                    outcomes.errors.append(exc)
            else:
                with lock:
                    outcomes.results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"race-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert broken == [], f"workers could not start together: {broken!r}"
    assert len(outcomes.results) + len(outcomes.errors) == workers, "a worker died early"
    return outcomes


def unexpected(outcomes: Outcomes, allowed: type[BaseException] | tuple = ()) -> list[str]:
    """The errors that are not of the ``allowed`` kind, for a readable assertion."""
    return [repr(e) for e in outcomes.errors if not isinstance(e, allowed)]


# --- recovery codes -------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [2, 20])
def test_a_recovery_code_is_spent_once_under_concurrent_use(workers):
    user = UserFactory()
    code = services.regenerate_recovery_codes(user)[0]
    recovery = get_factor("RECOVERY")
    before = recovery.remaining(user)

    outcomes = race(workers, lambda: recovery.verify(user, code))

    assert unexpected(outcomes) == []
    assert len(outcomes.successes) == 1
    assert recovery.remaining(user) == before - 1
    assert recovery.verify(user, code) is None


def test_concurrent_recovery_codes_each_spend_only_their_own():
    user = UserFactory()
    codes = services.regenerate_recovery_codes(user)
    recovery = get_factor("RECOVERY")
    before = recovery.remaining(user)
    pending = iter(codes[:2] * 5)  # 10 workers, two distinct codes, five uses each
    lock = threading.Lock()

    def use_one():
        with lock:
            code = next(pending)
        return recovery.verify(user, code)

    outcomes = race(10, use_one)

    assert unexpected(outcomes) == []
    assert len(outcomes.successes) == 2
    assert recovery.remaining(user) == before - 2


# --- TOTP -----------------------------------------------------------------------------------


def test_a_totp_code_is_accepted_once_under_concurrent_submissions():
    device = TOTPFactorFactory()
    code = code_for(device)
    totp = get_factor("TOTP")

    outcomes = race(20, lambda: totp.verify(device.user, code))

    assert unexpected(outcomes) == []
    assert len(outcomes.successes) == 1
    device.refresh_from_db()
    assert device.last_t >= 0
    assert totp.verify(device.user, code) is None


# --- challenges -----------------------------------------------------------------------------


def test_one_challenge_and_one_code_pass_once_under_concurrent_verification():
    device = TOTPFactorFactory()
    user = device.user
    challenge = services.start_challenge(user)
    code = code_for(device)

    outcomes = race(20, lambda: services.verify_challenge(user, challenge.pk, "TOTP", code))

    # The losers lost a race (or found the user's answers reserved by the others and had to
    # wait): they did not guess wrong, so nothing is counted against the user.
    allowed = (errors.ChallengeAlreadyVerified, errors.RateLimited)
    assert unexpected(outcomes, allowed=allowed) == []
    assert len(outcomes.results) == 1, [repr(e) for e in outcomes.errors]
    assert len(outcomes.errors) == 19
    challenge.refresh_from_db()
    assert challenge.verified_at is not None
    assert challenge.factor_type == "TOTP"
    assert challenge.failures == 0
    assert not MFAEvent.objects.filter(user=user, kind__in=["failed", "locked_out"]).exists()
    assert TOTPFactor.objects.get(pk=device.pk).last_t >= 0


def test_concurrent_wrong_codes_are_all_counted(settings):
    from mfa_app.models import UserState

    settings.MFA_MAX_ATTEMPTS = 50
    settings.MFA_LOCKOUT_DELAY_AFTER = 50
    settings.MFA_LOCKOUT_THRESHOLD = 50
    device = TOTPFactorFactory()
    user = device.user
    challenge = services.start_challenge(user)
    valid = {code_for(device, offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)
    before = Challenge.objects.get(pk=challenge.pk).failures

    outcomes = race(20, lambda: services.verify_challenge(user, challenge.pk, "TOTP", wrong))

    assert outcomes.results == []
    assert unexpected(outcomes, allowed=errors.InvalidCode) == []
    assert Challenge.objects.get(pk=challenge.pk).failures == before + 20
    assert UserState.objects.get(user=user).failed_attempts == 20


# --- sent codes and send limits -------------------------------------------------------------


def test_one_texted_code_passes_once_under_concurrent_verification(sms_outbox):
    from mfa_app.models import ApplicationPolicy, SentCode

    from .factories import SMSFactorFactory

    policy = ApplicationPolicy.load()
    policy.allowed_factors = ["SMS"]
    policy.save()
    phone = SMSFactorFactory()
    user = phone.user
    challenge = services.start_challenge(user)
    services.send_challenge_code(user, challenge.pk, "SMS", phone.pk, None)
    code = sms_outbox[-1].body[:6]

    outcomes = race(20, lambda: services.verify_challenge(user, challenge.pk, "SMS", code))

    allowed = (errors.ChallengeAlreadyVerified, errors.InvalidCode, errors.RateLimited)
    assert unexpected(outcomes, allowed=allowed) == []
    assert len(outcomes.results) == 1, [repr(e) for e in outcomes.errors]
    assert SentCode.objects.get().used_at is not None
    assert Challenge.objects.get(pk=challenge.pk).failures == 0


def test_a_burst_of_sends_gets_no_more_than_the_cap():
    from datetime import timedelta

    from mfa_app import throttle
    from mfa_app.models import RateLimit

    limit = throttle.Limit("test:burst", max_hits=5, window=timedelta(days=1))

    outcomes = race(20, lambda: throttle.hit([limit]))

    assert unexpected(outcomes, allowed=errors.RateLimited) == []
    assert len(outcomes.results) == 5
    assert RateLimit.objects.get(key="test:burst").count == 5


def test_a_burst_of_resends_gets_one_past_the_cooldown():
    from datetime import timedelta

    from mfa_app import throttle

    limit = throttle.Limit(
        "test:cooldown", max_hits=100, window=timedelta(days=1), cooldown=timedelta(seconds=30)
    )

    outcomes = race(20, lambda: throttle.hit([limit]))

    assert unexpected(outcomes, allowed=errors.RateLimited) == []
    assert len(outcomes.results) == 1


def test_a_burst_of_wrong_guesses_gets_no_more_tries_than_the_lockout_allows(settings):
    from mfa_app.models import UserState

    settings.MFA_MAX_ATTEMPTS = 100
    settings.MFA_LOCKOUT_DELAY_AFTER = 100
    settings.MFA_LOCKOUT_THRESHOLD = 7
    device = TOTPFactorFactory()
    user = device.user
    challenge = services.start_challenge(user)
    valid = {code_for(device, offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)

    outcomes = race(20, lambda: services.verify_challenge(user, challenge.pk, "TOTP", wrong))

    assert unexpected(outcomes, allowed=(errors.InvalidCode, errors.RateLimited)) == []
    checked = [e for e in outcomes.errors if isinstance(e, errors.InvalidCode)]
    assert len(checked) == 7
    assert UserState.objects.get(user=user).failed_attempts == 7
    assert Challenge.objects.get(pk=challenge.pk).failures == 7
