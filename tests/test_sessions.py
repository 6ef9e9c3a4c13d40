"""Signing out every other session after a factor change (SES-06), whatever the session backend."""

import time

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfa_app import login_state, services
from mfa_app.models import MFAEvent

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import StaffFactory, TOTPFactorFactory, code_for
from .test_admin import admin_url
from .test_api import Api, csrf_relaxed, url

SECURITY = reverse("mfa_app:security")
SIGN_OUT = reverse("mfa_app:sign_out_others")
OFFER = "Sign out your other sessions?"
ENGINES = [
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cache",
    "django.contrib.sessions.backends.cached_db",
    "django.contrib.sessions.backends.signed_cookies",
]


@pytest.fixture
def clock():
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def device(db):
    device = TOTPFactorFactory(name="Work phone")
    services.recovery_codes_after_enrollment(device.user)
    return device


def browsers(user, clock, count: int = 2) -> list[Client]:
    """``count`` browsers signed in as ``user``, each with its own code (one use per step)."""
    signed_in = []
    for _ in range(count):
        browser = Client()
        sign_in_with_mfa(browser, user)
        signed_in.append(browser)
        clock.shift(31)
    return signed_in


def api_browsers(user, clock, count: int = 2) -> list[Api]:
    apis = []
    for _ in range(count):
        api = Api()
        with csrf_relaxed(api.client):
            sign_in_with_mfa(api.client, user)
        apis.append(api)
        clock.shift(31)
    return apis


def test_removing_a_factor_offers_it_and_accepting_signs_the_other_browser_out(device, clock):
    spare = TOTPFactorFactory(user=device.user, name="Spare phone")
    mine, other = browsers(device.user, clock)
    assert OFFER not in mine.get(SECURITY).content.decode()

    mine.post(reverse("mfa_app:remove_factor", args=["TOTP", spare.pk]))
    assert OFFER in mine.get(SECURITY).content.decode()
    # Only offered: until the user accepts, the other browser stays signed in.
    assert is_logged_in(other)

    response = mine.post(SIGN_OUT, follow=True)
    assert "Your other sessions are signed out." in response.content.decode()
    assert OFFER not in response.content.decode()
    assert not is_logged_in(other)
    assert is_logged_in(mine)
    # Signed out for good: the next page asks it to log in.
    assert other.get(SECURITY)["Location"].startswith(reverse("login"))
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.SESSIONS_ENDED)
    assert (event.user, event.actor) == (device.user, "")


def test_signing_in_with_a_recovery_code_offers_it(device, clock):
    codes = services.regenerate_recovery_codes(device.user)
    browser = Client()
    password_login(browser, device.user)
    response = browser.post(
        reverse("mfa_app:challenge"), {"factor": "RECOVERY", "code": codes[0]}, follow=True
    )
    assert "sign out your other sessions" in response.content.decode()
    assert OFFER in browser.get(SECURITY).content.decode()


def test_the_offer_fades_after_an_hour_but_the_button_stays(device, clock):
    spare = TOTPFactorFactory(user=device.user)
    (mine,) = browsers(device.user, clock, 1)
    mine.post(reverse("mfa_app:remove_factor", args=["TOTP", spare.pk]))
    clock.shift(login_state.SIGN_OUT_OFFER_SECONDS + 1)
    html = mine.get(SECURITY).content.decode()
    assert OFFER not in html and f'action="{SIGN_OUT}"' in html


def test_signing_out_needs_a_post_with_csrf_and_a_signed_in_user(device, clock, csrf_client):
    mine, other = browsers(device.user, clock)
    assert mine.get(SIGN_OUT).status_code == 405
    assert Client().post(SIGN_OUT)["Location"].startswith(reverse("login"))
    csrf_client.cookies = mine.cookies
    assert csrf_client.post(SIGN_OUT).status_code == 403
    assert is_logged_in(other)
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.SESSIONS_ENDED).exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_the_api_signs_the_other_sessions_out_with_every_session_backend(device, clock, engine):
    with override_settings(SESSION_ENGINE=engine):
        mine, other = api_browsers(device.user, clock)
        response = mine.post("sign_out_others")
        assert response.status_code == 204, response.content
        assert other.get("factors").json()["error"]["code"] == "not_authenticated"
        assert mine.get("factors").status_code == 200
        # The user signs in again in that browser: the new session is not signed out.
        with csrf_relaxed(other.client):
            sign_in_with_mfa(other.client, device.user)
        assert other.get("factors").status_code == 200


def test_the_api_refuses_without_csrf_or_signed_out(device, clock):
    (mine,) = api_browsers(device.user, clock, 1)
    assert mine.post("sign_out_others", token="wrong").status_code == 403
    response = Client().post(url("sign_out_others"), content_type="application/json")
    assert response.status_code == 401
    assert mine.client.get(url("sign_out_others")).status_code == 405
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.SESSIONS_ENDED).exists()


def test_staff_sign_out_every_session_of_the_selected_users(device, clock):
    bystander = TOTPFactorFactory()
    first, second = browsers(device.user, clock)
    (theirs,) = browsers(bystander.user, clock, 1)
    staff = StaffFactory()
    (admin,) = browsers(staff, clock, 1)
    user_model = get_user_model()
    response = admin.post(
        admin_url(user_model, "changelist"),
        {
            "action": "mfa_sign_out_sessions",
            "_selected_action": [str(device.user.pk), str(staff.pk)],
        },
        follow=True,
    )
    assert "Every session of 2 users will be signed out at their next request." in [
        str(m) for m in response.context["messages"]
    ]
    assert not is_logged_in(first) and not is_logged_in(second)
    assert is_logged_in(theirs)
    # Staff who picked themselves keep the session they act from.
    assert admin.get(admin_url(user_model, "changelist")).status_code == 200
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.SESSIONS_ENDED, user=device.user)
    assert event.actor == staff.get_username()


def test_a_session_from_before_the_feature_stays_until_a_sign_out(device, clock):
    old, mine = browsers(device.user, clock)
    session = old.session
    del session[login_state.SESSION_EPOCH_KEY]
    session.save()
    assert is_logged_in(old)
    mine.post(SIGN_OUT)
    assert not is_logged_in(old)
    assert is_logged_in(mine)


def test_a_half_signed_in_browser_can_still_finish_its_sign_in(device, clock):
    (mine,) = browsers(device.user, clock, 1)
    pending = Client()
    password_login(pending, device.user)
    mine.post(SIGN_OUT)
    assert pending.get(SECURITY)["Location"] == reverse("mfa_app:challenge")
    response = pending.post(reverse("mfa_app:challenge"), {"code": code_for(device)})
    assert response.status_code == 302
    assert is_logged_in(pending) and is_logged_in(mine)


def _epoch_reads(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert is_logged_in(client)
    return sum("session_epoch" in q["sql"] for q in queries.captured_queries)


def test_a_per_process_cache_costs_one_indexed_select_per_signed_in_request(device, clock):
    (mine,) = browsers(device.user, clock, 1)
    assert _epoch_reads(mine) == 1


def test_a_shared_cache_costs_no_query_and_still_signs_out(
    device, clock, tmp_path, django_capture_on_commit_callbacks
):
    shared = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}}
    shared["default"]["LOCATION"] = str(tmp_path)
    with override_settings(CACHES=shared):
        mine, other = browsers(device.user, clock)
        assert _epoch_reads(other) == 0
        with django_capture_on_commit_callbacks(execute=True):
            mine.post(SIGN_OUT)
        assert not is_logged_in(other)
        assert _epoch_reads(mine) == 0
