"""The user's security page: list and remove factors, behind a recent authentication."""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone, translation

from mfa_app import services
from mfa_app.models import MFAEvent, RecoveryCodeSet, Requirement, TOTPFactor

from .conftest import password_login
from .factories import PASSWORD, TOTPFactorFactory, code_for
from .test_policy_engine import sign_in
from .webauthn_authenticator import SoftwareAuthenticator, stored_credential

SECURITY = reverse("mfa_app:security")
REAUTH = reverse("mfa_app:reauthenticate")


@pytest.fixture
def device(db):
    device = TOTPFactorFactory(name="Work phone")
    services.recovery_codes_after_enrollment(device.user)
    return device


@pytest.fixture
def signed_in(client, device):
    password_login(client, device.user)
    client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
    return client


def remove_url(device) -> str:
    return reverse("mfa_app:remove_factor", args=["TOTP", device.pk])


def test_the_page_lists_factors_with_type_name_dates_and_codes_left(signed_in, device):
    html = signed_in.get(SECURITY).content.decode()
    assert "Authenticator app" in html and "Work phone" in html
    assert "primary" in html
    assert "10 unused codes left" in html
    assert device.key not in html


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get(SECURITY)["Location"].startswith(reverse("login"))


def test_there_is_no_security_page_when_mfa_is_disabled(client, user, app_policy):
    app_policy.requirement = Requirement.DISABLED
    app_policy.save()
    client.force_login(user)
    assert client.get(SECURITY).status_code == 404
    assert client.get(reverse("mfa_app:enroll_totp")).status_code == 404


def test_removing_a_factor_right_after_signing_in(signed_in, device):
    assert signed_in.get(remove_url(device)).status_code == 200
    response = signed_in.post(remove_url(device))
    assert response["Location"] == SECURITY
    assert not TOTPFactor.objects.filter(pk=device.pk).exists()
    # With the last factor gone, MFA is off and the recovery codes go too.
    assert not RecoveryCodeSet.objects.filter(user=device.user).exists()
    assert MFAEvent.objects.filter(user=device.user, kind="factor_removed").exists()


def test_removing_a_factor_later_asks_for_a_second_factor_not_just_the_password(client, device):
    with time_machine.travel(time.time(), tick=False) as clock:
        password_login(client, device.user)
        client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
        clock.shift(301)
        response = client.post(remove_url(device))
        step_up = reverse("mfa_app:step_up")
        assert response["Location"] == f"{step_up}?next={remove_url(device).replace('/', '%2F')}"
        assert TOTPFactor.objects.filter(pk=device.pk).exists()
        # The password alone does not do for a user with a factor (SES-07).
        client.post(REAUTH, {"password": PASSWORD, "next": remove_url(device)})
        assert client.post(remove_url(device))["Location"].startswith(step_up)
        wrong = client.post(response["Location"], {"factor": "TOTP", "code": "000000"})
        assert wrong.status_code == 400
        right = client.post(response["Location"], {"factor": "TOTP", "code": code_for(device, 1)})
        assert right["Location"] == remove_url(device)
        client.post(remove_url(device))
    assert not TOTPFactor.objects.filter(pk=device.pk).exists()


def test_a_current_code_also_confirms_identity(client, device):
    with time_machine.travel(time.time(), tick=False) as clock:
        password_login(client, device.user)
        client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
        clock.shift(301)
        response = client.post(REAUTH, {"code": code_for(device), "next": SECURITY})
        assert response["Location"] == SECURITY
        assert client.get(remove_url(device)).status_code == 200


def test_reauthentication_does_not_redirect_off_site(signed_in):
    response = signed_in.post(REAUTH, {"password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == SECURITY


def test_another_users_factor_cannot_be_removed(signed_in):
    victim = TOTPFactorFactory()
    assert signed_in.get(remove_url(victim)).status_code == 404
    assert signed_in.post(remove_url(victim)).status_code == 404
    assert TOTPFactor.objects.filter(pk=victim.pk).exists()


@pytest.mark.parametrize("path", ["TOTP/abc", "RECOVERY/1", "NOPE/1", "TOTP/99999"])
def test_tampered_factor_urls_are_not_found(signed_in, path):
    assert signed_in.post(f"/mfa/factors/{path}/remove/").status_code == 404


def test_the_last_factor_cannot_be_removed_under_a_required_policy(signed_in, device, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.save()
    response = signed_in.post(remove_url(device), follow=True)
    assert "add another factor" in response.content.decode()
    assert TOTPFactor.objects.filter(pk=device.pk).exists()


def test_removing_the_primary_factor_promotes_another(signed_in, device):
    second = TOTPFactorFactory(user=device.user, name="Tablet", is_primary=False)
    signed_in.post(remove_url(device))
    second.refresh_from_db()
    assert second.is_primary
    assert RecoveryCodeSet.objects.filter(user=device.user).exists()


def test_removal_needs_csrf(signed_in, csrf_client, device):
    csrf_client.cookies = signed_in.cookies
    assert csrf_client.post(remove_url(device)).status_code == 403
    assert TOTPFactor.objects.filter(pk=device.pk).exists()


def test_guessing_at_the_reauthentication_page_ends_the_session(signed_in, device):
    for _ in range(4):
        assert signed_in.post(REAUTH, {"password": "guess"}).status_code == 400
    response = signed_in.post(REAUTH, {"code": "000000"})
    assert response["Location"] == reverse("login")
    assert signed_in.get(SECURITY)["Location"].startswith(reverse("login"))
    # A new sign-in starts a new count; a success clears it.
    password_login(signed_in, device.user)
    signed_in.post(reverse("mfa_app:challenge"), {"code": code_for(device, 1)})
    signed_in.post(REAUTH, {"password": "guess"})
    assert signed_in.post(REAUTH, {"password": PASSWORD})["Location"] == SECURITY


# --- how the page reads ---------------------------------------------------------------------

MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def test_remembered_browsers_are_named_not_listed_as_user_agents(client, device):
    sign_in(client, device, remember=True, step=0)
    services.trusted_devices(device.user).update(user_agent=MAC_CHROME)
    html = client.get(SECURITY).content.decode()
    assert "Chrome on macOS" in html
    assert "AppleWebKit" not in html and "Mozilla/5.0" not in html


def test_a_browser_nobody_can_name_is_an_unknown_browser(client, device):
    sign_in(client, device, remember=True, step=0)
    services.trusted_devices(device.user).update(user_agent="<script>alert(1)</script>")
    html = client.get(SECURITY).content.decode()
    assert "Unknown browser" in html and "<script>alert" not in html


def test_dates_are_relative_near_now_with_the_exact_moment_in_a_time_element(signed_in, device):
    with time_machine.travel(device.created_at + timedelta(days=2, hours=1), tick=False):
        html = signed_in.get(SECURITY).content.decode()
    added = re.search(
        r'<td data-label="Added"[^>]*><time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html
    )
    assert added is not None, html
    assert added[3] == "2\xa0days ago"
    assert added[1].startswith(timezone.localtime(device.created_at).date().isoformat())
    assert str(device.created_at.year) in added[2]


def test_dates_further_away_use_the_locales_date_format_not_a_numeric_one(signed_in, device):
    created = timezone.localtime(timezone.now() - timedelta(days=90))
    TOTPFactor.objects.filter(pk=device.pk).update(created_at=created)
    english = signed_in.get(SECURITY).content.decode()
    german = signed_in.get(SECURITY, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    added = re.search(r'data-label="Added"[^>]*><time[^>]*>([^<]+)</time>', english)[1]
    with translation.override("en"):
        assert added == formats.date_format(created, "DATE_FORMAT")
    assert str(created.year) in added and "/" not in added
    with translation.override("de"):
        in_german = formats.date_format(created, "DATE_FORMAT")
    assert in_german in german and in_german != added


def test_a_factor_named_after_its_kind_is_not_named_twice(client, db):
    device = TOTPFactorFactory(name="Authenticator app")
    password_login(client, device.user)
    client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
    html = client.get(SECURITY).content.decode()
    name = re.search(r'<div class="mfa-factor-name">(.*?)</td>', html, re.S)[1]
    assert "<strong>Authenticator app</strong>" in name
    assert name.count("Authenticator app") == 1


def test_each_factor_and_each_add_button_has_a_hidden_icon(signed_in):
    html = signed_in.get(SECURITY).content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1]
    assert row.count('<svg class="mfa-icon"') == 1
    adds = re.search(r'<p class="mfa-actions mfa-add-actions">(.*?)</p>', html, re.S)[1]
    assert adds.count('<svg class="mfa-icon"') == adds.count("<a ") >= 1
    for svg in re.findall(r"<svg[^>]*>", html):
        assert 'aria-hidden="true"' in svg and 'focusable="false"' in svg


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        ({"transports": ["usb", "nfc"]}, "Security key"),
        ({"transports": ["internal"]}, "Passkey"),
        ({"transports": ["hybrid"]}, "Passkey"),
        ({"transports": ["usb"], "backup_eligible": True}, "Passkey"),
    ],
)
def test_a_passkey_is_labelled_as_one(client, user, flags, kind):
    client.force_login(user)  # no factor yet: fully signed in
    stored_credential(user, SoftwareAuthenticator(), name="My key", **flags)
    html = client.get(SECURITY).content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1]
    assert "My key" in row and f'<span class="mfa-help">{kind}</span>' in row
    assert "Security key or passkey" not in row
