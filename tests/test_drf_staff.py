"""The staff API for a token client: its token names the staff member, its MFA claim says when
MFA was passed (writes need it recent, as for a session), and no cookie or CSRF token is used."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from mfa_app.models import MFAEvent, TOTPFactor

from .factories import StaffFactory, TOTPFactorFactory, UserFactory
from .test_drf_manage import signed_in
from .test_drf_tokens import AUTHTOKEN_URL, bearer

pytestmark = pytest.mark.urls("tests.drf_urls")

STAFF = "/mfa/api/staff/"


@pytest.fixture(autouse=True)
def token_authenticator(settings):
    settings.MFA_TOKEN_AUTHENTICATOR = "mfa_app.contrib.rest_framework.authenticate"


@pytest.fixture
def staff_app(db):
    return TOTPFactorFactory(user=StaffFactory())


@pytest.fixture
def member(db):
    return TOTPFactorFactory(user=UserFactory()).user


def call(method: str, path: str, headers: dict, data=None):
    client = Client(enforce_csrf_checks=True)
    return getattr(client, method)(STAFF + path, data, content_type="application/json", **headers)


@pytest.mark.parametrize("url", ["/api/auth/token/", AUTHTOKEN_URL])
def test_a_staff_token_reads_a_users_status(staff_app, member, url):
    response = call("get", f"users/{member.pk}/", signed_in(staff_app, url))
    assert response.status_code == 200, response.content
    assert response.json()["factors"][0]["type"] == "TOTP"
    assert not response.cookies


def test_a_fresh_staff_token_resets_without_a_csrf_token_and_is_audited(staff_app, member):
    response = call("post", f"users/{member.pk}/reset/", signed_in(staff_app))
    assert response.status_code == 200, response.content
    assert not TOTPFactor.objects.filter(user=member).exists()
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.RESET, user=member)
    assert event.actor == staff_app.user.get_username()


def test_a_stale_staff_token_may_read_but_not_write(staff_app, member):
    # A DRF key: it outlives the re-authentication timeout (a JWT access token would expire).
    headers = signed_in(staff_app, AUTHTOKEN_URL)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert call("get", f"users/{member.pk}/", headers).status_code == 200
        refused = call("post", f"users/{member.pk}/reset/", headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauthentication_required"
    assert TOTPFactor.objects.filter(user=member).exists()


def test_a_bad_or_foreign_token_reaches_nothing(staff_app, member):
    for headers in (bearer("not-a-token"), {"HTTP_AUTHORIZATION": "Token 0000"}):
        response = call("post", f"users/{member.pk}/reset/", headers)
        assert response.status_code == 401
    assert TOTPFactor.objects.filter(user=member).exists()


def test_a_token_of_a_user_who_is_not_staff_is_refused(member):
    other = TOTPFactorFactory(user=UserFactory())
    response = call("get", f"users/{member.pk}/", signed_in(other))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_without_the_setting_a_token_is_not_a_staff_member(settings, staff_app, member):
    settings.MFA_TOKEN_AUTHENTICATOR = None
    response = call("get", f"users/{member.pk}/", signed_in(staff_app))
    assert response.status_code == 401
