"""Recovery codes: shown once, stored as keyed hashes, single use, renewed when spent."""

import re
import time

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from mfa_app import services
from mfa_app.factors import get_factor
from mfa_app.factors.recovery import ALPHABET
from mfa_app.models import MFAEvent, RecoveryCode

from .conftest import is_logged_in, mark_mfa_verified, password_login
from .factories import TOTPFactorFactory, code_for

CHALLENGE = reverse("mfa_app:challenge")
CODE_RE = re.compile(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>")


def codes_on(page) -> list[str]:
    return CODE_RE.findall(page.content.decode())


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


def use_recovery_code(client, user, code):
    password_login(client, user)
    return client.post(CHALLENGE, {"code": code, "factor": "RECOVERY"})


def test_codes_have_at_least_64_bits_and_come_in_the_policy_count(device, app_policy):
    codes = services.recovery_codes_after_enrollment(device.user)
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) * 5 >= 64 and set(raw) <= set(ALPHABET)
    app_policy.recovery_codes_count = 3
    app_policy.save()
    assert len(services.regenerate_recovery_codes(device.user)) == 3


def test_the_database_alone_does_not_reveal_the_codes(device):
    codes = services.recovery_codes_after_enrollment(device.user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest FROM mfa_app_recoverycode")
        stored = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT salt FROM mfa_app_recoverycodeset")
        stored += " ".join(row[0] for row in cursor.fetchall())
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    # The hash is keyed with SECRET_KEY: with the database but another key, no code matches.
    with override_settings(SECRET_KEY="another-key-the-attacker-guessed"):
        assert get_factor("RECOVERY").verify(device.user, codes[0]) is None
    assert get_factor("RECOVERY").verify(device.user, codes[0]) is not None


def test_codes_are_shown_once_after_enrollment_with_download_and_confirmation(client, user):
    client.force_login(user)
    page = client.get(reverse("mfa_app:enroll_totp"))
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)
    import pyotp

    shown = client.post(reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(secret).now()})
    html = shown.content.decode()
    codes = codes_on(shown)
    assert len(codes) == 10
    assert shown["Cache-Control"] == "no-store"
    assert 'download="recovery-codes.txt"' in html
    assert "I have saved these codes" in html
    done = client.post(
        reverse("mfa_app:recovery_codes_done"), {"saved": "1", "next": reverse("mfa_app:security")}
    )
    assert done["Location"] == reverse("mfa_app:security")
    # Nowhere to see them again.
    security = client.get(reverse("mfa_app:security")).content.decode()
    assert not any(code in security for code in codes)


def test_a_code_signs_in_once_and_is_then_spent(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    response = use_recovery_code(client, device.user, codes[0])
    assert response.status_code == 302 and is_logged_in(client)
    assert MFAEvent.objects.filter(user=device.user, kind="recovery_code_used").exists()

    client.logout()
    again = use_recovery_code(client, device.user, codes[0])
    assert again.status_code == 400 and not is_logged_in(client)
    assert services.recovery_codes_remaining(device.user) == 9


def test_codes_are_accepted_in_lower_case_and_without_dashes(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    response = use_recovery_code(client, device.user, codes[1].replace("-", "").lower())
    assert response.status_code == 302 and is_logged_in(client)


def test_the_last_code_renews_the_set_and_shows_it(client, device, app_policy):
    app_policy.recovery_codes_count = 2
    app_policy.save()
    first, last = services.recovery_codes_after_enrollment(device.user)
    use_recovery_code(client, device.user, first)
    client.logout()

    page = use_recovery_code(client, device.user, last)
    assert page.status_code == 200 and is_logged_in(client)
    new_codes = codes_on(page)
    assert len(new_codes) == 2 and not {first, last} & set(new_codes)
    assert services.recovery_codes_remaining(device.user) == 2


def test_with_a_count_of_one_every_use_shows_a_new_code(client, device, app_policy):
    app_policy.recovery_codes_count = 1
    app_policy.save()
    (code,) = services.recovery_codes_after_enrollment(device.user)
    page = use_recovery_code(client, device.user, code)
    (new_code,) = codes_on(page)
    client.logout()
    assert use_recovery_code(client, device.user, code).status_code == 400
    client.logout()
    assert codes_on(use_recovery_code(client, device.user, new_code))


def test_regenerating_invalidates_every_earlier_code(client, device):
    old = services.recovery_codes_after_enrollment(device.user)
    password_login(client, device.user)
    client.post(CHALLENGE, {"code": code_for(device)})

    confirm = client.get(reverse("mfa_app:regenerate_recovery_codes"))
    assert confirm.status_code == 200
    page = client.post(reverse("mfa_app:regenerate_recovery_codes"))
    new = codes_on(page)
    assert len(new) == 10 and not set(old) & set(new)
    assert all(get_factor("RECOVERY").verify(device.user, code) is None for code in old)
    assert RecoveryCode.objects.filter(code_set__user=device.user).count() == 10


def test_regenerating_needs_a_recent_authentication(client, device):
    with time_machine.travel(time.time(), tick=False) as clock:
        old = services.recovery_codes_after_enrollment(device.user)
        password_login(client, device.user)
        client.post(CHALLENGE, {"code": code_for(device)})
        clock.shift(301)
        response = client.post(reverse("mfa_app:regenerate_recovery_codes"))
        assert response["Location"].startswith(reverse("mfa_app:step_up"))
    assert get_factor("RECOVERY").verify(device.user, old[0]) is not None


def test_no_codes_when_the_policy_turns_them_off(client, user, app_policy):
    app_policy.recovery_codes_enabled = False
    app_policy.save()
    client.force_login(user)
    device = TOTPFactorFactory(user=user)
    mark_mfa_verified(client)
    assert services.recovery_codes_after_enrollment(device.user) == []
    assert client.post(reverse("mfa_app:regenerate_recovery_codes"))["Location"] == reverse(
        "mfa_app:security"
    )
    assert services.recovery_codes_remaining(user) == 0


def test_one_users_code_does_not_work_for_another(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    other = TOTPFactorFactory()
    services.recovery_codes_after_enrollment(other.user)
    response = use_recovery_code(client, other.user, codes[0])
    assert response.status_code == 400 and not is_logged_in(client)
