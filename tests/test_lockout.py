"""Per-user and per-IP throttling of MFA answers: counts that only a success resets."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mfa_app import errors, lockout, services
from mfa_app.models import MFAEvent, UserState

from .conftest import password_login, sign_in_with_mfa
from .factories import SMSFactorFactory, StaffFactory, TOTPFactorFactory, code_for

CHALLENGE = reverse("mfa_app:challenge")


def later(**delta) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def wrong(device) -> str:
    valid = {code_for(device, step) for step in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def failures(user) -> int:
    state = UserState.objects.filter(user=user).first()
    return state.failed_attempts if state else 0


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


def guess(client, device, code=None, **extra):
    return client.post(CHALLENGE, {"factor": "TOTP", "code": code or wrong(device)}, **extra)


def test_wrong_answers_count_across_challenges_and_sessions(device):
    for _ in range(2):
        browser = Client()
        password_login(browser, device.user)
        guess(browser, device)
        guess(browser, device)
    assert failures(device.user) == 4
    assert MFAEvent.objects.filter(user=device.user, kind="failed").count() == 4


def test_only_a_success_resets_the_count(client, device):
    password_login(client, device.user)
    guess(client, device)
    guess(client, device)
    assert guess(client, device, code_for(device)).status_code == 302
    assert failures(device.user) == 0


def test_after_five_wrong_answers_the_next_must_wait_and_the_wait_grows(device, settings):
    settings.MFA_MAX_ATTEMPTS = 50  # one challenge for the whole run
    client = Client()
    password_login(client, device.user)
    for _ in range(5):
        assert guess(client, device).status_code == 400
    # The sixth answer is not even checked: the right code waits too.
    response = guess(client, device, code_for(device))
    assert response.status_code == 429
    assert "Try again in 30 seconds" in response.content.decode()
    assert failures(device.user) == 5
    with later(seconds=31):
        assert guess(client, device).status_code == 400
        assert guess(client, device).status_code == 429
    with later(seconds=31 + 61):
        assert guess(client, device).status_code == 400
    assert lockout.wait_after(6) == timedelta(seconds=60)
    assert lockout.wait_after(7) == timedelta(seconds=120)
    assert lockout.wait_after(19) == timedelta(seconds=900)  # the most a wait grows to


def test_the_hard_lockout_holds_until_staff_unlock(device, settings):
    settings.MFA_MAX_ATTEMPTS = 50
    settings.MFA_LOCKOUT_DELAY_AFTER = 100  # no growing waits: straight to the lockout
    settings.MFA_LOCKOUT_THRESHOLD = 8
    client = Client()
    password_login(client, device.user)
    for _ in range(8):
        assert guess(client, device).status_code == 400
    response = guess(client, device, code_for(device))
    assert response.status_code == 429
    assert "locked for this account" in response.content.decode()
    until = lockout.locked_until(device.user)
    assert until - timezone.now() > timedelta(hours=11)
    # A new sign-in does not help.
    other = Client()
    password_login(other, device.user)
    assert guess(other, device, code_for(device)).status_code == 429
    staff = StaffFactory()
    assert services.unlock_mfa(device.user, actor=staff)
    assert guess(other, device, code_for(device)).status_code == 302
    event = MFAEvent.objects.get(kind="unlocked")
    assert event.actor == staff.get_username()


def test_after_the_lockout_each_wrong_answer_locks_again(device, settings):
    settings.MFA_LOCKOUT_DECAY = 7 * 86400  # the lock's 12 hours forgive nothing
    settings.MFA_MAX_ATTEMPTS = 50
    settings.MFA_LOCKOUT_DELAY_AFTER = 100
    settings.MFA_LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        with pytest.raises(errors.InvalidCode):
            services.verify_challenge(
                device.user, services.start_challenge(device.user).pk, "TOTP", wrong(device)
            )
    with later(hours=12, seconds=1):
        challenge = services.start_challenge(device.user)
        with pytest.raises(errors.InvalidCode):
            services.verify_challenge(device.user, challenge.pk, "TOTP", wrong(device))
        with pytest.raises(errors.RateLimited):
            services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))


def test_a_right_code_on_one_factor_clears_the_count_for_all(
    client, device, allow_codes, sms_outbox
):
    SMSFactorFactory(user=device.user, is_primary=False)
    password_login(client, device.user)
    guess(client, device)
    guess(client, device)
    phone = device.user.smsfactor_set.get()
    client.get(CHALLENGE, {"factor": "SMS", "device": phone.pk})
    code = sms_outbox[-1].body[:6]
    assert (
        client.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": code}).status_code
        == 302
    )
    assert failures(device.user) == 0


def test_the_reauthentication_code_counts_too(device, settings):
    client = Client()
    sign_in_with_mfa(client, device.user)
    for _ in range(3):
        client.post(reverse("mfa_app:reauthenticate"), {"code": wrong(device)})
    assert failures(device.user) == 3


def test_a_lost_race_is_not_a_wrong_answer(device):
    challenge = services.start_challenge(device.user)
    services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))
    with pytest.raises(errors.ChallengeAlreadyVerified):
        services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device, 1))
    assert failures(device.user) == 0


def test_the_admin_shows_the_lock_and_unlocks(device, settings):
    settings.MFA_LOCKOUT_THRESHOLD = 1
    with pytest.raises(errors.InvalidCode):
        services.verify_challenge(
            device.user, services.start_challenge(device.user).pk, "TOTP", wrong(device)
        )
    staff = Client()
    sign_in_with_mfa(staff, StaffFactory())
    url = reverse(
        f"admin:{device.user._meta.app_label}_{device.user._meta.model_name}_change",
        args=[device.user.pk],
    )
    assert "MFA locked until" in staff.get(url).content.decode()
    changelist = reverse(
        f"admin:{device.user._meta.app_label}_{device.user._meta.model_name}_changelist"
    )
    staff.post(changelist, {"action": "mfa_unlock", "_selected_action": [device.user.pk]})
    assert lockout.locked_until(device.user) is None
    assert failures(device.user) == 0


# --- per IP ---------------------------------------------------------------------------------


def test_one_ip_gets_a_limited_number_of_answers_across_users(db, settings):
    settings.MFA_IP_ATTEMPTS_PER_HOUR = 3
    devices = [TOTPFactorFactory() for _ in range(2)]
    statuses = []
    for device in devices:
        client = Client()
        password_login(client, device.user)
        for _ in range(2):
            statuses.append(guess(client, device, REMOTE_ADDR="203.0.113.5").status_code)
    assert statuses == [400, 400, 400, 429]
    # Another address is not affected.
    client = Client()
    password_login(client, devices[1].user)
    assert (
        guess(client, devices[1], code_for(devices[1]), REMOTE_ADDR="198.51.100.1").status_code
        == 302
    )


def test_one_ip_gets_a_limited_number_of_code_sends(db, allow_codes, sms_outbox, settings):
    settings.MFA_IP_SENDS_PER_DAY = 2
    for _ in range(3):
        phone = SMSFactorFactory(number="+14155552671")
        client = Client()
        client.post(reverse("login"), _login(phone.user), REMOTE_ADDR="203.0.113.5")
        client.get(CHALLENGE, REMOTE_ADDR="203.0.113.5")
    assert len(sms_outbox) == 2


def _login(user) -> dict:
    from .conftest import login_form

    return login_form(user)
