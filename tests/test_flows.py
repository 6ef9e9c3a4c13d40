"""Rules that moved into mfa_app.flows and login_state: one answer for the pages and the API."""

import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from mfa_app import login_state

from .conftest import mark_mfa_verified, password_login, sign_in_with_mfa
from .factories import EmailFactorFactory, TOTPFactorFactory, UserFactory, code_for

# Every session key login_state defines; WebAuthn's are its prefix and a purpose.
KEYS = {
    value
    for name, value in vars(login_state).items()
    if name.endswith("_KEY") and isinstance(value, str) and value.startswith("_mfa")
}


def mfa_keys(client) -> set[str]:
    return {key for key in client.session.keys() if key.startswith("_mfa")}  # noqa: SIM118 (SessionStore has keys(), no __iter__)


def undefined(keys: set[str]) -> set[str]:
    return {k for k in keys if k not in KEYS and not k.startswith(login_state.WEBAUTHN_KEY + "_")}


def api_post(client, name: str, body: dict | None = None, **kwargs):
    return client.post(
        reverse(name, kwargs=kwargs), json.dumps(body or {}), content_type="application/json"
    )


def test_every_session_key_mfa_app_writes_is_one_login_state_defines(client, allow_codes, user):
    seen: set[str] = set()
    # A pending login that must enroll, then the TOTP and WebAuthn offers and an email code.
    allow_codes.requirement = "REQUIRED"
    allow_codes.save()
    password_login(client, user)
    seen |= mfa_keys(client)
    client.get(reverse("mfa_app:enroll_totp"))
    client.get(reverse("mfa_app:enroll_webauthn"))
    client.post(reverse("mfa_app:enroll_email"), {"send": "1"})
    seen |= mfa_keys(client)
    # A signed-in user: a step-up challenge opened, a wrong re-authentication.
    client = Client()
    sign_in_with_mfa(client, UserFactory())
    seen |= mfa_keys(client)
    client.get(reverse("mfa_app:step_up"))
    client.post(reverse("mfa_app:reauthenticate"), {"password": "wrong"})
    seen |= mfa_keys(client)
    # Every kind of record was written, and each under a key login_state defines.
    assert {
        login_state.PENDING_KEY,
        login_state.TOTP_SECRET_KEY,
        login_state.CODE_ENROLLMENT_KEY,
        login_state.STEP_UP_KEY,
        login_state.REAUTH_FAILURES_KEY,
        login_state.VERIFIED_KEY,
    } <= seen
    assert any(key.startswith(login_state.WEBAUTHN_KEY) for key in seen)
    assert undefined(seen) == set()


@pytest.mark.parametrize("has_factor", [True, False], ids=["with a factor", "password only"])
def test_a_stale_session_is_asked_the_same_proof_by_the_page_and_the_api(client, has_factor):
    user = TOTPFactorFactory().user if has_factor else UserFactory()
    password_login(client, user)
    if has_factor:
        client.post(
            reverse("mfa_app:challenge"),
            {"factor": "TOTP", "code": code_for(user.totpfactor_set.get())},
        )
    with time_machine.travel(login_state.now() + 3600, tick=False):
        page = client.get(reverse("mfa_app:enroll_totp"))
        api = api_post(client, "mfa_app:api:enroll_totp")
    expected_page = "mfa_app:step_up" if has_factor else "mfa_app:reauthenticate"
    assert page["Location"].startswith(reverse(expected_page))
    assert api.status_code == 403
    error = api.json()["error"]
    assert error["code"] == "reauthentication_required"
    assert error["reauthenticate_with"] == ("challenge" if has_factor else "password")


def offered_by_page(client) -> list[str]:
    page = client.get(reverse("mfa_app:security")).content.decode()
    urls = {"TOTP": "enroll_totp", "WEBAUTHN": "enroll_webauthn", "SMS": "enroll_sms"}
    urls["EMAIL"] = "enroll_email"
    return [t for t, name in urls.items() if f'href="{reverse("mfa_app:" + name)}"' in page]


def test_the_page_and_the_api_offer_the_same_factors_to_add(client, allow_codes, user):
    password_login(client, user)
    mark_mfa_verified(client)
    offered = client.get(reverse("mfa_app:api:status")).json()["allowed_factors"]
    assert offered == offered_by_page(client) == ["TOTP", "WEBAUTHN", "SMS", "EMAIL"]
    # Once the account's address is a factor, neither offers email again.
    EmailFactorFactory(user=user)
    offered = client.get(reverse("mfa_app:api:status")).json()["allowed_factors"]
    assert offered == offered_by_page(client) == ["TOTP", "WEBAUTHN", "SMS"]


def test_the_session_clock_moves_with_time_machine(client, totp_user):
    password_login(client, totp_user)
    started = client.session[login_state.PENDING_KEY]["started"]
    assert client.get(reverse("mfa_app:challenge")).status_code == 200
    with time_machine.travel(started + 601, tick=False):
        response = client.get(reverse("mfa_app:challenge"))
    assert response.status_code == 302
    assert login_state.PENDING_KEY not in client.session
