"""TOTP: RFC 6238 vectors, drift, replay, and the enrollment page."""

import re
import time

import pyotp
import pytest
import time_machine
from django.urls import reverse

from mfa_app.factors import get_factor
from mfa_app.factors.totp import matching_step
from mfa_app.models import MFAEvent, TOTPFactor

from .conftest import is_logged_in, password_login
from .factories import TOTPFactorFactory, code_for

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_sha1_vectors(at, expected):
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(at) == expected


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (29, "755224"),
        (30, "287082"),
        (60, "359152"),
        (1111111109, "081804"),
        (1234567890, "005924"),
    ],
)
def test_six_digit_codes_match_the_step_they_belong_to(at, code):
    assert matching_step(RFC_SECRET, code, at=at) == at // 30


def test_one_step_of_drift_either_way_is_accepted_but_not_two():
    now = 1_700_000_000
    totp = pyotp.TOTP(RFC_SECRET)
    assert matching_step(RFC_SECRET, totp.at(now - 30), at=now) is not None
    assert matching_step(RFC_SECRET, totp.at(now + 30), at=now) is not None
    assert matching_step(RFC_SECRET, totp.at(now - 60), at=now) is None
    assert matching_step(RFC_SECRET, totp.at(now + 60), at=now) is None


@pytest.mark.parametrize(
    "junk", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5x", "0" * 500]
)
def test_malformed_codes_never_match(junk):
    assert matching_step(RFC_SECRET, junk, at=59) is None


def test_spaces_in_a_code_are_ignored():
    assert matching_step(RFC_SECRET, "287 082", at=59) == 1


@pytest.mark.django_db
def test_a_code_is_accepted_once_then_rejected_as_a_replay():
    device = TOTPFactorFactory()
    code = code_for(device)
    totp = get_factor("TOTP")
    assert totp.verify(device.user, code) == device
    assert totp.verify(device.user, code) is None


@pytest.mark.django_db
def test_an_older_code_is_rejected_after_a_newer_one_was_used():
    device = TOTPFactorFactory()
    with time_machine.travel(1_700_000_000, tick=False):
        older, newer = code_for(device, -1), code_for(device)
        assert get_factor("TOTP").verify(device.user, newer) == device
        assert get_factor("TOTP").verify(device.user, older) is None


@pytest.mark.django_db
def test_a_code_used_to_sign_in_cannot_sign_in_again_from_another_browser(client):
    device = TOTPFactorFactory()
    code = code_for(device)
    password_login(client, device.user)
    client.post(reverse("mfa_app:challenge"), {"code": code})
    assert is_logged_in(client)

    from django.test import Client

    attacker = Client()
    password_login(attacker, device.user)
    response = attacker.post(reverse("mfa_app:challenge"), {"code": code})
    assert response.status_code == 400
    assert not is_logged_in(attacker)


# --- enrollment page ---------------------------------------------------------------------------


def secret_on(page) -> str:
    return re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)


@pytest.fixture
def fresh_client(client, user):
    client.force_login(user)
    return client


def test_enrollment_page_shows_an_inline_svg_qr_code_and_the_secret(fresh_client, user):
    page = fresh_client.get(reverse("mfa_app:enroll_totp"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<img" not in html
    assert "Can&#x27;t scan it?" in html or "Can't scan it?" in html
    assert len(secret_on(page)) == 32  # 160 bits of base32
    assert page["Cache-Control"] == "no-store"


def test_reloading_the_enrollment_page_keeps_the_same_secret(fresh_client):
    first = secret_on(fresh_client.get(reverse("mfa_app:enroll_totp")))
    assert secret_on(fresh_client.get(reverse("mfa_app:enroll_totp"))) == first


def test_nothing_is_saved_until_a_current_code_confirms_the_secret(fresh_client, user):
    secret = secret_on(fresh_client.get(reverse("mfa_app:enroll_totp")))
    wrong = fresh_client.post(reverse("mfa_app:enroll_totp"), {"code": "000000"})
    assert wrong.status_code == 400
    assert "not valid" in wrong.content.decode()
    assert not TOTPFactor.objects.filter(user=user).exists()

    page = fresh_client.post(reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(secret).now()})
    device = TOTPFactor.objects.get(user=user)
    assert device.key == secret and device.confirmed and device.is_primary
    assert "Save your recovery codes" in page.content.decode()
    assert MFAEvent.objects.filter(user=user, kind="enrolled", factor_type="TOTP").exists()


def test_the_code_that_confirmed_enrollment_cannot_then_pass_a_challenge(fresh_client, user):
    secret = secret_on(fresh_client.get(reverse("mfa_app:enroll_totp")))
    code = pyotp.TOTP(secret).now()
    fresh_client.post(reverse("mfa_app:enroll_totp"), {"code": code})
    assert get_factor("TOTP").verify(user, code) is None


def test_a_secret_posted_in_the_form_is_ignored(fresh_client, user):
    """The secret lives server side: an attacker cannot choose it by tampering with the form."""
    fresh_client.get(reverse("mfa_app:enroll_totp"))
    chosen = pyotp.random_base32()
    response = fresh_client.post(
        reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(chosen).now(), "secret": chosen}
    )
    assert response.status_code == 400
    assert not TOTPFactor.objects.filter(user=user).exists()


def test_the_secret_is_not_shown_again_after_enrollment(fresh_client, user):
    secret = secret_on(fresh_client.get(reverse("mfa_app:enroll_totp")))
    fresh_client.post(reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(secret).now()})
    assert secret not in fresh_client.get(reverse("mfa_app:security")).content.decode()
    # A second enrollment offers a brand new secret.
    assert secret_on(fresh_client.get(reverse("mfa_app:enroll_totp"))) != secret


def test_adding_a_factor_needs_a_recent_authentication(client, user):
    with time_machine.travel(time.time(), tick=False) as clock:
        client.force_login(user)
        clock.shift(301)
        response = client.get(reverse("mfa_app:enroll_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_app:reauthenticate"))


def test_anonymous_visitors_cannot_enroll(client, db):
    response = client.get(reverse("mfa_app:enroll_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
