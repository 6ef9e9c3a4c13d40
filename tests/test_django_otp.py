"""django-otp's tools see mfa_app's factors: match_token, otp_required, OTPAdminSite."""

import re
import time

import django_otp
import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django_otp.forms import OTPTokenForm

from mfa_app import login_state, services
from mfa_app.models import (
    MFAEvent,
    RecoveryCodeSet,
    Requirement,
    UserState,
    WebAuthnCredential,
)

from .conftest import is_logged_in, login_form, password_login
from .factories import (
    EmailFactorFactory,
    SMSFactorFactory,
    StaffFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

CHALLENGE = reverse("mfa_app:challenge")
OTP_ONLY = "/otp-only/"
OTP_ADMIN = "/otpadmin/"
OTP_ADMIN_LOGIN = "/otpadmin/login/"


@pytest.fixture(autouse=True)
def _site_using_django_otp(settings):
    """The example site with django-otp's middleware and an OTPAdminSite (tests/otp_urls.py)."""
    settings.ROOT_URLCONF = "tests.otp_urls"
    auth = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: auth + 1],
        "django_otp.middleware.OTPMiddleware",
        *settings.MIDDLEWARE[auth + 1 :],
    ]


@pytest.fixture
def clock():
    """Time stands still, so an authenticator app's code stays the same within a test."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


def wrong(device) -> str:
    valid = {code_for(device, step) for step in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def failures(user) -> int:
    state = UserState.objects.filter(user=user).first()
    return state.failed_attempts if state else 0


def events(user, kind: str) -> list[MFAEvent]:
    return list(MFAEvent.objects.filter(user=user, kind=kind).order_by("created_at", "pk"))


def sms_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def email_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].subject).group(1)


# --- match_token and verify_token -----------------------------------------------------------


def test_match_token_finds_the_authenticator_app_once(device, clock):
    code = code_for(device)
    assert django_otp.match_token(device.user, code) == device
    assert django_otp.match_token(device.user, code) is None
    [verified] = events(device.user, "verified")
    assert (verified.factor_type, verified.details) == ("TOTP", {"via": "django-otp"})
    # The replay was a wrong answer like any other.
    assert len(events(device.user, "failed")) == 1


def test_a_code_spent_on_mfa_apps_challenge_page_does_not_match_again(client, device, clock):
    password_login(client, device.user)
    assert client.post(CHALLENGE, {"code": code_for(device)}).status_code == 302
    assert django_otp.match_token(device.user, code_for(device)) is None


def test_wrong_codes_count_towards_mfa_apps_lockout(device, clock):
    for _ in range(5):
        assert django_otp.match_token(device.user, wrong(device)) is None
    assert failures(device.user) == 5
    assert len(events(device.user, "failed")) == 5
    # Now the user must wait: even the right code is refused, and nothing raises.
    assert django_otp.match_token(device.user, code_for(device)) is None
    allowed, details = device.verify_is_allowed()
    assert not allowed
    assert "wait" in details["error_message"]
    clock.shift(31)
    assert device.verify_is_allowed() == (True, None)
    assert django_otp.match_token(device.user, code_for(device)) == device
    # django-otp has no sign-in to tell the user's typing from someone else's guesses: the
    # success takes back only its own count, and time forgives the rest (RL-08).
    assert failures(device.user) == 5


def test_a_locked_account_stays_refused_until_the_lockout_ends(settings, device, clock):
    settings.MFA_LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        assert django_otp.match_token(device.user, wrong(device)) is None
    clock.shift(3600)
    assert django_otp.match_token(device.user, code_for(device)) is None
    clock.shift(12 * 3600)
    assert django_otp.match_token(device.user, code_for(device)) == device


def test_a_recovery_code_matches_once_and_is_no_wrong_answer_to_the_app(device, clock):
    codes = services.regenerate_recovery_codes(device.user)
    assert django_otp.match_token(device.user, codes[0]) == RecoveryCodeSet.objects.get(
        user=device.user
    )
    # The authenticator app was offered the recovery code first: that was no wrong answer.
    assert failures(device.user) == 0
    assert django_otp.match_token(device.user, codes[0]) is None
    assert django_otp.match_token(device.user, codes[1]) is not None
    assert [e.details["remaining"] for e in events(device.user, "recovery_code_used")] == [9, 8]


def test_a_recovery_code_matched_through_django_otp_ends_remembered_browsers(client, device):
    """TD-03: the same as a recovery code on mfa_app's own challenge page."""
    codes = services.regenerate_recovery_codes(device.user)
    password_login(client, device.user)
    client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(device), "remember": "1"})
    assert services.trusted_devices(device.user).exists()
    client.post(reverse("logout"))
    assert not is_logged_in(client)
    assert django_otp.match_token(device.user, codes[0]) is not None
    assert [e.details["reason"] for e in events(device.user, "device_revoked")] == [
        "recovery_code_used"
    ]
    password_login(client, device.user)
    assert not is_logged_in(client)


def test_an_sms_code_from_generate_challenge_matches_once(allow_codes, device, sms_outbox):
    phone = SMSFactorFactory(user=device.user, is_primary=False)
    assert phone.is_interactive()
    assert phone.generate_challenge() == f"sent to {phone.masked_destination}"
    assert [m.to for m in sms_outbox] == ["+14155552671"]
    code = sms_code(sms_outbox)
    assert django_otp.match_token(device.user, code) == phone
    assert django_otp.match_token(device.user, code) is None


def test_an_email_code_from_generate_challenge_matches_once(allow_codes, device):
    mailbox = EmailFactorFactory(user=device.user, is_primary=False)
    assert mailbox.generate_challenge() == f"sent to {mailbox.masked_destination}"
    assert mail.outbox[-1].to == [device.user.email]
    code = email_code()
    assert django_otp.match_token(device.user, code) == mailbox
    assert django_otp.match_token(device.user, code) is None


def test_a_new_code_replaces_the_last_one_and_sends_keep_their_limits(
    allow_codes, device, sms_outbox, clock
):
    phone = SMSFactorFactory(user=device.user)
    phone.generate_challenge()
    first = sms_code(sms_outbox)
    # The resend cooldown holds: no second text, a message instead of an exception.
    assert "wait" in phone.generate_challenge().lower()
    assert len(sms_outbox) == 1
    clock.shift(31)
    phone.generate_challenge()
    second = sms_code(sms_outbox)
    if first != second:
        assert django_otp.match_token(device.user, first) is None
    assert django_otp.match_token(device.user, second) == phone


def test_a_code_sent_through_django_otp_does_not_answer_a_sign_in(
    allow_codes, client, sms_outbox, clock
):
    phone = SMSFactorFactory()
    phone.generate_challenge()
    otp_code = sms_code(sms_outbox)
    clock.shift(31)
    password_login(client, phone.user)
    client.get(CHALLENGE)  # the sign-in texts its own code
    assert len(sms_outbox) == 2
    if sms_code(sms_outbox) != otp_code:
        form = {"factor": "SMS", "device": phone.pk, "code": otp_code}
        assert client.post(CHALLENGE, form).status_code == 400
        assert not is_logged_in(client)
    assert django_otp.match_token(phone.user, otp_code) == phone


def test_a_factor_the_policy_no_longer_allows_does_not_match(app_policy, device, clock):
    code = code_for(device)
    app_policy.allowed_factors = ["WEBAUTHN"]
    app_policy.save()
    assert django_otp.match_token(device.user, code) is None
    assert device.verify_is_allowed()[0] is False
    # Refused before it was checked: neither counted nor spent.
    assert failures(device.user) == 0
    app_policy.allowed_factors = ["TOTP"]
    app_policy.save()
    assert django_otp.match_token(device.user, code) == device


def test_nothing_verifies_under_a_disabled_policy(app_policy, device, clock):
    codes = services.regenerate_recovery_codes(device.user)
    app_policy.requirement = Requirement.DISABLED
    app_policy.save()
    assert django_otp.match_token(device.user, code_for(device)) is None
    assert django_otp.match_token(device.user, codes[0]) is None


def test_no_code_is_sent_for_a_factor_the_policy_does_not_allow(app_policy, sms_outbox):
    phone = SMSFactorFactory()  # the default policy allows TOTP and WebAuthn only
    assert phone.generate_challenge() == "That factor is not allowed by your organisation's policy."
    assert sms_outbox == []


def test_recovery_codes_turned_off_do_not_match(app_policy, device):
    codes = services.regenerate_recovery_codes(device.user)
    app_policy.recovery_codes_enabled = False
    app_policy.save()
    assert django_otp.match_token(device.user, codes[0]) is None


def test_a_security_key_cannot_answer_a_typed_token(device, clock):
    key = WebAuthnCredential.objects.create(
        user=device.user, name="Key", credential_id=b"id", public_key=b"k", user_handle=b"h"
    )
    assert not key.is_interactive()
    assert key.generate_challenge() is None
    assert key.verify_token(code_for(device)) is False
    assert failures(device.user) == 0
    # The token went to no device: the app's code still works.
    assert django_otp.match_token(device.user, code_for(device)) == device


def test_an_unconfirmed_factor_verifies_nothing(clock):
    unconfirmed = TOTPFactorFactory(confirmed=False)
    code = code_for(unconfirmed)
    assert django_otp.verify_token(unconfirmed.user, unconfirmed.persistent_id, code) is None
    assert failures(unconfirmed.user) == 0


def test_otp_token_form_shows_the_lockout_instead_of_checking(device, clock):
    for _ in range(5):
        django_otp.match_token(device.user, wrong(device))
    form = OTPTokenForm(
        device.user, data={"otp_device": device.persistent_id, "otp_token": code_for(device)}
    )
    assert not form.is_valid()
    assert "5 failed attempts" in str(form.errors)


# --- otp_required and OTPMiddleware ---------------------------------------------------------


def test_otp_required_opens_after_mfa_apps_challenge(client, device, clock):
    assert client.get(OTP_ONLY)["Location"].startswith(reverse("login"))
    password_login(client, device.user)
    # The pending login is sent to the challenge, not to the page.
    assert client.get(OTP_ONLY)["Location"] == CHALLENGE
    assert client.post(CHALLENGE, {"code": code_for(device)}).status_code == 302
    page = client.get(OTP_ONLY)
    assert page.status_code == 200
    assert page.content.decode() == f"verified with {device.persistent_id}"


def test_a_sign_in_without_mfa_is_not_verified_for_django_otp(client):
    user = UserFactory()  # no factor: the optional policy signs them in with the password
    password_login(client, user)
    assert is_logged_in(client)
    assert client.get(OTP_ONLY)["Location"].startswith(reverse("login"))


# --- OTPAdminSite ---------------------------------------------------------------------------


@pytest.fixture
def staff_device(db):
    return TOTPFactorFactory(user=StaffFactory())


def admin_login(client, device, code: str):
    form = {
        **login_form(device.user),
        "otp_device": device.persistent_id,
        "otp_token": code,
        "next": OTP_ADMIN,
    }
    return client.post(OTP_ADMIN_LOGIN, form)


def test_otp_admin_refuses_a_wrong_code(client, staff_device, clock):
    response = admin_login(client, staff_device, wrong(staff_device))
    assert response.status_code == 200
    assert "Invalid token" in response.content.decode()
    assert not is_logged_in(client)
    assert failures(staff_device.user) == 1


def test_otp_admin_refuses_a_replayed_code(client, staff_device, clock):
    code = code_for(staff_device)
    assert django_otp.match_token(staff_device.user, code) == staff_device
    response = admin_login(client, staff_device, code)
    assert "Invalid token" in response.content.decode()
    assert not is_logged_in(client)


def test_otp_admin_login_with_an_mfa_app_code_is_the_whole_sign_in(client, staff_device, clock):
    code = code_for(staff_device)
    response = admin_login(client, staff_device, code)
    assert response["Location"] == OTP_ADMIN
    # The code the admin form checked was the challenge: no second one, the admin opens.
    assert is_logged_in(client)
    assert client.get(OTP_ADMIN).status_code == 200
    assert client.session[login_state.VERIFIED_KEY]["factor"] == "TOTP"
    # ... and it was spent: the same code does not sign in again.
    client.logout()
    assert admin_login(client, staff_device, code).status_code == 200
    assert not is_logged_in(client)
