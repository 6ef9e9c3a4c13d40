"""Slow guessing (RL-08): time forgives one wrong answer per MFA_LOCKOUT_DECAY, and the real
user's success forgives only their own sign-in's, so parking below the lock pays little."""

import time

import pytest
import time_machine
from django.core.checks import run_checks

from mfa_app import errors, services

from .factories import StaffFactory, TOTPFactorFactory, code_for

DAY = 86400
DECAY = DAY // 4  # MFA_LOCKOUT_DECAY's default
LOCK = 12 * 3600


@pytest.fixture
def clock():
    # Just after a decay period begins: the grid of periods is fixed, so a burst that
    # straddles its end would have one answer forgiven along the way (RL-08 counts that).
    start = (time.time() // DECAY + 1) * DECAY + 1
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


def wrong(device) -> str:
    valid = {code_for(device, step) for step in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def guess_wrong(device, clock, limit: int = 1000) -> int:
    """The attacker's wrong guesses that get checked, each short wait waited out, up to
    ``limit`` or until MFA locks; a new sign-in whenever one is used up or expired."""
    user, checked = device.user, 0
    challenge = services.start_challenge(user)
    while checked < limit:
        try:
            services.verify_challenge(user, challenge.pk, "TOTP", wrong(device))
        except errors.InvalidCode:
            checked += 1
        except errors.LockedOut:
            checked += 1
            challenge = services.start_challenge(user)
        except errors.ChallengeExpired:
            challenge = services.start_challenge(user)
        except errors.RateLimited as exc:
            if exc.extra["retry_after"] > 900:
                break
            clock.shift(exc.extra["retry_after"])
    return checked


def retry_after(device) -> int | None:
    """What the next answer (the right code) is told to wait, or ``None`` if it passes."""
    challenge = services.start_challenge(device.user)
    try:
        services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))
    except errors.RateLimited as exc:
        return exc.extra["retry_after"]
    return None


def test_an_attacker_parked_below_the_lock_gets_four_guesses_a_day_not_nineteen(device, clock):
    assert guess_wrong(device, clock, limit=19) == 19
    clock.shift(DAY)
    # The real user signs in at first try: that forgives nothing the attacker did.
    assert retry_after(device) is None
    # A day forgave 4 of the 19: 4 more guesses, and the one after them locks.
    assert guess_wrong(device, clock) == 5
    assert retry_after(device) > LOCK - 60


def test_after_the_lock_decay_still_allows_only_four_a_day(device, clock):
    assert guess_wrong(device, clock) == 20
    clock.shift(LOCK)
    # 12 hours of lock forgave 2: the answer that brings 19 and the one that locks again.
    assert guess_wrong(device, clock) == 2
    clock.shift(LOCK)
    assert guess_wrong(device, clock) == 2


def test_a_user_who_made_three_mistakes_last_week_starts_clean(device, clock):
    assert guess_wrong(device, clock, limit=3) == 3
    clock.shift(7 * DAY)
    # Like a first sign-in ever: five wrong answers go unhindered, then the first wait.
    assert guess_wrong(device, clock, limit=5) == 5
    assert retry_after(device) == 30


def test_a_success_forgives_its_own_sign_ins_wrong_answers_only(device, clock):
    assert guess_wrong(device, clock, limit=2) == 2  # someone else, in another sign-in
    challenge = services.start_challenge(device.user)
    for _ in range(2):
        with pytest.raises(errors.InvalidCode):
            services.verify_challenge(device.user, challenge.pk, "TOTP", wrong(device))
    services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))
    # The user's two typos are gone, the other two stay: three more go unhindered, not five.
    assert guess_wrong(device, clock, limit=3) == 3
    assert retry_after(device) == 30


def test_staff_unlock_clears_what_decay_has_not(device, clock):
    assert guess_wrong(device, clock) == 20
    assert services.unlock_mfa(device.user, actor=StaffFactory())
    assert retry_after(device) is None
    clock.shift(30)  # a new TOTP step for the next right code
    assert guess_wrong(device, clock) == 20


def test_the_growing_waits_apply_to_what_decay_left(device, clock):
    assert guess_wrong(device, clock, limit=9) == 9
    clock.shift(DECAY)
    # One forgiven: the next wrong answer brings the count back to 9 and its 480 s wait,
    # not the 900 s of a tenth.
    assert guess_wrong(device, clock, limit=1) == 1
    assert retry_after(device) == 480


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "6h"])
def test_a_decay_that_is_not_a_positive_number_of_seconds_is_an_error(settings, value):
    settings.MFA_LOCKOUT_DECAY = value
    assert "mfa_app.E030" in {problem.id for problem in run_checks()}
