"""The challenge after the password step: codes, retries, lockout, expiry, cancel, redirects."""

import time

import pytest
import time_machine
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone

from mfa_app import errors, login_state, services
from mfa_app.models import Challenge, MFAEvent

from .conftest import is_logged_in, password_login
from .factories import TOTPFactorFactory, code_for

CHALLENGE = reverse("mfa_app:challenge")


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


@pytest.fixture
def pending(client, device):
    password_login(client, device.user)
    return client


def test_the_challenge_page_asks_for_a_code_named_code(pending):
    page = pending.get(CHALLENGE)
    assert page.status_code == 200
    assert 'name="code"' in page.content.decode()
    assert 'autocomplete="one-time-code"' in page.content.decode()


def test_a_valid_code_logs_in_with_a_new_session_key(pending, device):
    before = pending.session.session_key
    response = pending.post(CHALLENGE, {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert is_logged_in(pending)
    assert pending.session.session_key != before
    assert MFAEvent.objects.filter(user=device.user, kind="verified").exists()
    # django-otp sees the device that verified the session.
    assert pending.session["otp_device_id"] == device.persistent_id


def test_a_wrong_code_shows_an_error_and_allows_a_retry(pending, device):
    response = pending.post(CHALLENGE, {"code": "000000"})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert "4 attempts left" in response.content.decode()
    assert not is_logged_in(pending)
    assert pending.post(CHALLENGE, {"code": code_for(device)}).status_code == 302
    assert is_logged_in(pending)


@pytest.mark.parametrize("junk", ["", " ", "abc", "1" * 65, "<script>", "12345678901234567890"])
def test_malformed_codes_get_a_form_error_not_a_crash(pending, junk):
    response = pending.post(CHALLENGE, {"code": junk})
    assert response.status_code == 400
    assert not is_logged_in(pending)


def test_five_wrong_codes_drop_the_pending_login(pending, device):
    for _ in range(4):
        assert pending.post(CHALLENGE, {"code": "000000"}).status_code == 400
    response = pending.post(CHALLENGE, {"code": "000000"})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    # Even the right code is now useless: the user must start again at the password.
    assert pending.post(CHALLENGE, {"code": code_for(device)})["Location"] == reverse("login")
    assert not is_logged_in(pending)
    assert MFAEvent.objects.filter(user=device.user, kind="locked_out").count() == 1
    assert MFAEvent.objects.filter(user=device.user, kind="failed").count() == 5


def test_the_attempt_limit_is_a_setting(settings, pending):
    settings.MFA_MAX_ATTEMPTS = 2
    assert pending.post(CHALLENGE, {"code": "000000"}).status_code == 400
    assert pending.post(CHALLENGE, {"code": "000000"})["Location"] == reverse("login")


def test_after_ten_minutes_the_pending_login_is_dropped(client, device):
    with time_machine.travel(time.time(), tick=False) as clock:
        password_login(client, device.user)
        clock.shift(599)
        assert client.get(CHALLENGE).status_code == 200
        clock.shift(2)
        response = client.post(CHALLENGE, {"code": code_for(device)})
        assert response["Location"] == reverse("login")
        assert not is_logged_in(client)
        # The pending record is gone, not just ignored.
        assert "_mfa_pending" not in client.session


def test_the_timeout_is_a_setting(settings, client, device):
    settings.MFA_CHALLENGE_TIMEOUT = 60
    with time_machine.travel(time.time(), tick=False) as clock:
        password_login(client, device.user)
        clock.shift(61)
        assert client.post(CHALLENGE, {"code": code_for(device)})["Location"] == reverse("login")


def test_an_expired_pending_login_visiting_another_page_is_simply_logged_out(client, device):
    with time_machine.travel(time.time(), tick=False) as clock:
        password_login(client, device.user)
        clock.shift(601)
        response = client.get(reverse("private"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_mfa_pending" not in client.session


def test_cancel_drops_the_pending_login_and_returns_to_the_login_page(pending, device):
    response = pending.post(reverse("mfa_app:cancel"))
    assert response["Location"] == reverse("login")
    assert "_mfa_pending" not in pending.session
    assert pending.get(CHALLENGE)["Location"] == reverse("login")
    assert pending.post(CHALLENGE, {"code": code_for(device)})["Location"] == reverse("login")
    assert not is_logged_in(pending)


def test_cancel_needs_post_and_csrf(pending, csrf_client):
    csrf_client.cookies = pending.cookies
    assert csrf_client.get(reverse("mfa_app:cancel")).status_code == 405
    assert csrf_client.post(reverse("mfa_app:cancel")).status_code == 403
    assert "_mfa_pending" in csrf_client.session


def test_the_challenge_form_needs_csrf(pending, csrf_client, device):
    csrf_client.cookies = pending.cookies
    assert csrf_client.post(CHALLENGE, {"code": code_for(device)}).status_code == 403
    assert not is_logged_in(pending)


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/private/", "/private/"),
        ("/private/?tab=1", "/private/?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("///evil.example/", "/"),
        ("https:evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("\\\\evil.example", "/"),
    ],
)
def test_only_same_site_next_urls_are_followed(client, device, next_url, lands_on):
    password_login(client, device.user, next_url)
    response = client.post(CHALLENGE, {"code": code_for(device)})
    assert response["Location"] == lands_on


def test_the_challenge_page_without_a_pending_login_goes_to_the_login_page(client, db):
    assert client.get(CHALLENGE)["Location"] == reverse("login")


def test_a_signed_in_user_visiting_the_challenge_goes_home(client, user):
    client.force_login(user)
    assert client.get(CHALLENGE)["Location"] == reverse("home")


# --- switching factors ----------------------------------------------------------------------


def test_recovery_code_switch_is_offered_only_when_recovery_codes_are_enabled(
    client, device, app_policy
):
    services.recovery_codes_after_enrollment(device.user)
    password_login(client, device.user)
    page = client.get(CHALLENGE).content.decode()
    assert "Use a recovery code" in page
    recovery_page = client.get(CHALLENGE + "?factor=RECOVERY").content.decode()
    assert "Use a one-time code" in recovery_page

    app_policy.recovery_codes_enabled = False
    app_policy.save()
    assert "Use a recovery code" not in client.get(CHALLENGE).content.decode()


def test_a_factor_the_user_does_not_have_cannot_be_posted(pending, device):
    response = pending.post(CHALLENGE, {"code": "123456", "factor": "SMS"})
    assert response.status_code == 400
    assert not is_logged_in(pending)


def test_recovery_codes_cannot_be_posted_when_the_policy_disables_them(client, device, app_policy):
    codes = services.recovery_codes_after_enrollment(device.user)
    app_policy.recovery_codes_enabled = False
    app_policy.save()
    password_login(client, device.user)
    response = client.post(CHALLENGE, {"code": codes[0], "factor": "RECOVERY"})
    assert response.status_code == 400
    assert not is_logged_in(client)


# --- the service beneath ----------------------------------------------------------------------


def test_a_verified_challenge_cannot_be_verified_again(device):
    challenge = services.start_challenge(device.user)
    services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))
    with pytest.raises(errors.ChallengeAlreadyVerified):
        services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device, 1))


def test_a_challenge_belongs_to_its_user(device):
    other = TOTPFactorFactory()
    challenge = services.start_challenge(other.user)
    with pytest.raises(errors.ChallengeExpired):
        services.verify_challenge(device.user, challenge.pk, "TOTP", code_for(device))
    assert Challenge.objects.get(pk=challenge.pk).verified_at is None


def test_a_tampered_challenge_id_is_treated_as_expired(device):
    with pytest.raises(errors.ChallengeExpired):
        services.verify_challenge(device.user, "not-a-uuid", "TOTP", code_for(device))


def test_a_right_code_on_a_locked_challenge_does_not_spend_the_code(settings, device):
    settings.MFA_MAX_ATTEMPTS = 1
    challenge = services.start_challenge(device.user)
    with pytest.raises(errors.LockedOut):
        services.verify_challenge(device.user, challenge.pk, "TOTP", "000000")
    code = code_for(device)
    with pytest.raises(errors.LockedOut):
        services.verify_challenge(device.user, challenge.pk, "TOTP", code)
    fresh = services.start_challenge(device.user)
    assert services.verify_challenge(device.user, fresh.pk, "TOTP", code).device == device


def test_a_double_submit_that_lost_the_race_leaves_the_winners_session_alone(pending, device):
    # The other submit of the same answer passed the challenge while this one was on its way.
    challenge_id = pending.session[login_state.PENDING_KEY]["challenge_id"]
    Challenge.objects.filter(pk=challenge_id).update(verified_at=timezone.now())
    response = pending.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == resolve_url(settings.LOGIN_REDIRECT_URL)
    # No cookie is touched, so the browser keeps the session the winning submit signed in.
    assert "sessionid" not in response.cookies
