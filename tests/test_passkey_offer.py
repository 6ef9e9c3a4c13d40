"""After a password sign-in, a user without a passkey is offered one: once, dismissable, and
"Not now" is remembered on the user for MFA_PASSKEY_OFFER_SNOOZE_DAYS."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from mfa_app import clock
from mfa_app.models import TOTPFactor, UserState, WebAuthnCredential

from .conftest import password_login
from .factories import code_for

OFFER = reverse("mfa_app:passkey_offer")
CHALLENGE = reverse("mfa_app:challenge")
PRIVATE = reverse("private")


@pytest.fixture(autouse=True)
def _offer_on(settings, app_policy):
    settings.MFA_PASSKEY_OFFER = True
    settings.MFA_PASSKEY_OFFER_SNOOZE_DAYS = 90


def offered(client: Client, path: str = PRIVATE) -> bool:
    response = client.get(path)
    return response.status_code == 302 and response.url.startswith(OFFER)


def test_the_first_page_after_sign_in_is_the_offer_and_only_once(client, user):
    password_login(client, user)
    response = client.get(PRIVATE)
    assert response.status_code == 302
    assert response.url == f"{OFFER}?next=%2Fprivate%2F"
    page = client.get(response.url)
    text = page.content.decode()
    assert "Create a passkey" in text and "Not now" in text
    assert reverse("mfa_app:enroll_webauthn") in text
    # Shown: the next pages open as asked, in this session.
    assert client.get(PRIVATE).status_code == 200
    assert not offered(client)


def test_not_now_goes_on_and_is_not_asked_again_until_the_period_is_over(client, user):
    password_login(client, user)
    assert offered(client)
    response = client.post(OFFER, {"next": PRIVATE})
    assert response.status_code == 302 and response.url == PRIVATE
    assert UserState.objects.get(user=user).passkey_offer_declined_at is not None
    # Another browser, another sign-in: remembered on the user, not in the session.
    other = Client()
    password_login(other, user)
    assert not offered(other)
    with time_machine.travel(clock.now() + timedelta(days=91)):
        later = Client()
        password_login(later, user)
        assert offered(later)


def test_a_user_with_a_passkey_is_not_offered_one(client, user):
    WebAuthnCredential.objects.create(
        user=user, name="Key", credential_id=b"id", public_key=b"pk", user_handle=b"h"
    )
    password_login(client, user)
    assert not offered(client)
    assert client.get(OFFER).status_code == 302  # the page itself sends them on


def test_no_offer_when_the_policy_does_not_allow_webauthn(client, user, app_policy):
    app_policy.allowed_factors = ["TOTP"]
    app_policy.save()
    password_login(client, user)
    assert not offered(client)


def test_no_offer_when_it_is_switched_off(client, user, settings):
    settings.MFA_PASSKEY_OFFER = False
    password_login(client, user)
    assert not offered(client)


def test_never_during_a_pending_login_then_after_the_challenge(client, totp_user):
    password_login(client, totp_user, next_url=PRIVATE)
    response = client.get(PRIVATE)
    assert response.status_code == 302 and response.url == CHALLENGE
    # The offer page is closed to a pending login too.
    assert client.get(OFFER).url == CHALLENGE
    device = TOTPFactor.objects.get(user=totp_user)
    passed = client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(device)})
    assert passed.status_code == 302 and passed.url == PRIVATE
    # Signed in with an app, still no passkey: now the offer, once.
    assert offered(client)


def test_json_requests_and_mfa_pages_are_never_interrupted(client, user):
    password_login(client, user)
    api = client.get(reverse("api_me"), HTTP_ACCEPT="application/json")
    assert api.status_code == 200
    assert client.get(reverse("mfa_app:security")).status_code == 200
    assert offered(client)


def test_not_now_never_redirects_off_the_site(client, user):
    password_login(client, user)
    response = client.post(OFFER, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("home")
    page = client.get(OFFER, {"next": "//evil.example/"})
    assert b"evil.example" not in page.content


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(OFFER)
    assert response.status_code == 302 and reverse("login") in response.url
    assert client.post(OFFER).status_code == 302
    assert not UserState.objects.exists()


def test_not_now_needs_the_csrf_token(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(OFFER).status_code == 403
    assert not UserState.objects.filter(passkey_offer_declined_at__isnull=False).exists()
