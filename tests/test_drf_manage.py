"""A signed-in token client manages its factors with its token: the JSON API's endpoints, the
token standing for the session (its claims for the session's records of when MFA was passed)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from mfa_app.models import MFAEvent, TOTPFactor

from .factories import TOTPFactorFactory, UserFactory, code_for
from .test_drf_tokens import AUTHTOKEN_URL, bearer, challenge_token_of, obtain, verify

pytestmark = pytest.mark.urls("tests.drf_urls")

BASE = "/api/auth/"


def signed_in(device, url: str = "/api/auth/token/") -> dict:
    """The Authorization header of a token client that just passed MFA with ``device``."""
    body = verify(challenge_token_of(device.user, url), code_for(device)).json()
    if "token" in body:
        return {"HTTP_AUTHORIZATION": f"Token {body['token']}"}
    return bearer(body["access"])


def call(method: str, path: str, headers: dict, data=None):
    client = Client(enforce_csrf_checks=True)
    return getattr(client, method)(BASE + path, data, content_type="application/json", **headers)


@pytest.fixture
def two_apps(db):
    first = TOTPFactorFactory()
    return first, TOTPFactorFactory(user=first.user, is_primary=False, name="Tablet")


def test_the_status_and_factors_of_the_tokens_user(two_apps):
    first, _second = two_apps
    headers = signed_in(first)
    status = call("get", "status/", headers)
    assert status.status_code == 200, status.content
    assert status.json()["recently_authenticated"] is True
    assert len(status.json()["factors"]) == 2
    assert not status.cookies
    listed = call("get", "factors/", headers).json()["factors"]
    assert {f["name"] for f in listed} == {"Phone", "Tablet"}


def test_rename_primary_and_remove_with_a_fresh_token(two_apps):
    first, second = two_apps
    headers = signed_in(first)
    renamed = call("patch", f"factors/TOTP/{second.pk}/", headers, {"name": "Old tablet"})
    assert renamed.json()["factor"]["name"] == "Old tablet"
    primary = call("post", f"factors/TOTP/{second.pk}/primary/", headers)
    assert primary.json()["factor"]["primary"] is True
    removed = call("delete", f"factors/TOTP/{first.pk}/", headers)
    assert removed.status_code == 204
    assert list(TOTPFactor.objects.filter(user=first.user)) == [second]
    assert MFAEvent.objects.filter(user=first.user, kind="factor_removed").count() == 1


def test_a_drf_key_manages_factors_too(two_apps):
    first, second = two_apps
    headers = signed_in(first, AUTHTOKEN_URL)
    assert call("delete", f"factors/TOTP/{second.pk}/", headers).status_code == 204


def test_an_old_mfa_pass_must_be_renewed_before_a_sensitive_change(two_apps, settings):
    settings.MFA_REAUTHENTICATION_TIMEOUT = 60
    first, second = two_apps
    headers = signed_in(first)
    later = timezone.now() + timedelta(seconds=61)
    with time_machine.travel(later):
        refused = call("delete", f"factors/TOTP/{second.pk}/", headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauthentication_required"
    assert TOTPFactor.objects.filter(pk=second.pk).exists()
    # A new sign-in (password, then the challenge) brings a fresh pass.
    with time_machine.travel(later):
        fresh = signed_in(first)
        assert call("delete", f"factors/TOTP/{second.pk}/", fresh).status_code == 204


def test_regenerating_recovery_codes_needs_a_fresh_pass(two_apps):
    first, _second = two_apps
    headers = signed_in(first)
    created = call("post", "recovery-codes/", headers)
    assert created.status_code == 201
    assert len(created.json()["codes"]) == 10
    assert call("get", "recovery-codes/", headers).json()["remaining"] == 10


def test_a_token_without_mfa_cannot_remove_a_factor(two_apps):
    first, second = two_apps
    # A key handed out by DRF's own view (a password alone): nothing proved.
    key = Token.objects.create(user=first.user).key
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    refused = call("delete", f"factors/TOTP/{second.pk}/", headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauthentication_required"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Token 0000"])
def test_no_token_or_a_bad_one_is_not_authenticated(two_apps, header):
    _first, second = two_apps
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    refused = call("delete", f"factors/TOTP/{second.pk}/", headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert TOTPFactor.objects.filter(pk=second.pk).exists()


def test_a_cookie_session_does_not_stand_for_a_token(two_apps):
    first, second = two_apps
    browser = Client()
    browser.force_login(first.user)
    refused = browser.delete(f"{BASE}factors/TOTP/{second.pk}/")
    assert refused.status_code == 401


def test_another_users_factor_is_not_found(two_apps):
    first, _second = two_apps
    other = TOTPFactorFactory(user=UserFactory())
    response = call("delete", f"factors/TOTP/{other.pk}/", signed_in(first))
    assert response.status_code == 404
    assert TOTPFactor.objects.filter(pk=other.pk).exists()


def test_a_token_without_mfa_for_a_user_without_factors_sees_its_status(user):
    access = obtain(user).json()["access"]
    status = call("get", "status/", bearer(access))
    assert status.status_code == 200
    assert status.json()["factors"] == []
    # Signed in just now with the password: recent enough for a user without a factor.
    assert status.json()["recently_authenticated"] is True
