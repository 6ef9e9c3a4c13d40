"""Sign in with a passkey: a discoverable credential with user verification is the whole login."""

import json
import os
import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from mfa_app import login_state
from mfa_app.conf import app_settings
from mfa_app.models import MFAEvent, Requirement, WebAuthnCredential

from .conftest import is_logged_in, password_login
from .factories import TOTPFactorFactory, UserFactory
from .webauthn_authenticator import SoftwareAuthenticator, b64, stored_credential

PASSKEY = reverse("mfa_app:passkey_login")
LOGIN = reverse("login")
ENROLL = reverse("mfa_app:enroll_webauthn")
HOME = resolve_url(settings.LOGIN_REDIRECT_URL)
STATE = "_mfa_webauthn_passkey"
NOT_VERIFIED = "could not be verified"
NOT_READ = "could not be read"
SPENT = "expired or was already used"
NOT_HERE = "not registered here"
NOT_ALLOWED = "Signing in with a passkey is not allowed for your account"


@pytest.fixture
def authenticator():
    return SoftwareAuthenticator()


@pytest.fixture
def key(user, authenticator):
    return stored_credential(user, authenticator)


def options(client) -> dict:
    response = client.get(PASSKEY)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def post(client, assertion, **data):
    return client.post(PASSKEY, {"code": assertion, **data})


def sign_in(client, authenticator, **data):
    return post(client, authenticator.get(options(client)), **data)


def login_page_says(client, response, text: str) -> bool:
    """The refusal goes back to the login page, which shows the message."""
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    page = client.get(response.url)
    return text in page.content.decode()


def untouched(key, sign_count=0) -> bool:
    key.refresh_from_db()
    return key.sign_count == sign_count and key.last_used_at is None and key.last_challenge == ""


def no_login(client) -> bool:
    return SESSION_KEY not in client.session and not is_logged_in(client)


# --- the options and the login page ---------------------------------------------------------


def test_the_options_name_no_credential_require_user_verification_and_stay_on_the_server(client):
    response = client.get(PASSKEY)
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    assert body["allowCredentials"] == []
    assert body["userVerification"] == "required"
    assert body["rpId"] == "testserver"
    state = client.session[STATE]
    assert state["challenge"] == body["challenge"] and state["user"] == ""
    assert state["expires"] > time.time()
    assert options(client)["challenge"] != body["challenge"]  # a fresh one each time
    assert no_login(client)


def test_the_login_page_offers_a_passkey_form_with_csrf_and_next(client):
    page = client.get(LOGIN, {"next": "/api/me/"}).content.decode()
    assert "Sign in with a passkey" in page
    assert "data-passkey-login" in page and f'data-options-url="{PASSKEY}"' in page
    assert f'action="{PASSKEY}"' in page
    assert 'name="code" data-webauthn-response' in page
    assert 'name="next" value="/api/me/"' in page
    passkey_form = page[page.index("data-passkey-login") :].split("</form>")[0]
    assert passkey_form.count("csrfmiddlewaretoken") == 1
    assert "mfa_app/webauthn.js" in page
    assert STATE not in client.session  # no challenge until the button is pressed


# --- success --------------------------------------------------------------------------------


def test_a_passkey_signs_in_without_a_password_and_counts_as_mfa(client, user, key, authenticator):
    assertion = authenticator.get(options(client))
    before = client.session.session_key
    response = post(client, assertion)
    assert response.status_code == 302 and response.url == HOME
    assert is_logged_in(client)
    session = client.session
    assert session.session_key != before
    assert session[SESSION_KEY] == str(user.pk)
    assert session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert session[login_state.VERIFIED_KEY]["factor"] == "WEBAUTHN"
    assert isinstance(session[login_state.AUTH_AT_KEY], float)
    assert session[DEVICE_ID_SESSION_KEY] == key.persistent_id
    assert login_state.PENDING_KEY not in session and STATE not in session
    key.refresh_from_db()
    assert key.sign_count == 1 and key.last_used_at is not None and key.last_challenge
    event = MFAEvent.objects.get(user=user, kind="verified")
    assert event.factor_type == "WEBAUTHN" and event.details == {"passkey": True}
    assert not MFAEvent.objects.filter(kind="challenged").exists()


def test_a_user_whose_password_login_needs_mfa_is_not_left_pending(client, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.save()
    device = TOTPFactorFactory()
    authenticator = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    stored_credential(device.user, authenticator, is_primary=False)
    response = sign_in(client, authenticator)
    assert response.url == HOME
    assert is_logged_in(client)
    assert login_state.PENDING_KEY not in client.session
    assert client.get(reverse("mfa_app:security")).status_code == 200


def test_a_pending_password_login_gives_way_to_a_passkey_login(client, key, authenticator, user):
    other = TOTPFactorFactory().user
    password_login(client, other)
    assert login_state.PENDING_KEY in client.session
    sign_in(client, authenticator)
    assert login_state.PENDING_KEY not in client.session
    assert client.session[SESSION_KEY] == str(user.pk)
    assert is_logged_in(client)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/mfa/security/", "/mfa/security/"),
        ("https://evil.example/steal", HOME),
        ("//evil.example/", HOME),
        ("", HOME),
    ],
)
def test_next_is_honoured_only_when_safe(client, key, authenticator, next_url, expected):
    response = sign_in(client, authenticator, next=next_url)
    assert response.status_code == 302 and response.url == expected
    assert is_logged_in(client)


def test_a_key_registered_as_a_passkey_signs_in(client, user):
    client.force_login(user)
    page = client.get(ENROLL).content.decode()
    assert "Use as a passkey (sign in without a password)" in page
    assert 'name="passkey"' in page and "data-webauthn-passkey" in page
    authenticator = SoftwareAuthenticator()
    credential = authenticator.create(client.get(ENROLL).context["webauthn_options"])
    client.post(ENROLL, {"name": "", "passkey": "on", "credential": credential})
    key = WebAuthnCredential.objects.get(user=user)
    assert key.name == "Passkey"
    client.logout()
    assert not is_logged_in(client)
    sign_in(client, authenticator)
    assert is_logged_in(client) and client.session[SESSION_KEY] == str(user.pk)


def test_the_passkey_box_left_unticked_keeps_the_usual_default_name(client, user):
    client.force_login(user)
    authenticator = SoftwareAuthenticator()
    credential = authenticator.create(client.get(ENROLL).context["webauthn_options"])
    client.post(ENROLL, {"name": "", "credential": credential})
    assert WebAuthnCredential.objects.get(user=user).name == "Security key or passkey"


# --- policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", [{"requirement": Requirement.DISABLED}, {"allowed_factors": ["TOTP"]}]
)
def test_a_policy_that_does_not_allow_webauthn_refuses(
    client, app_policy, user, key, authenticator, change
):
    for name, value in change.items():
        setattr(app_policy, name, value)
    app_policy.save()
    response = sign_in(client, authenticator)
    assert login_page_says(client, response, NOT_ALLOWED)
    assert no_login(client)
    assert untouched(key)
    event = MFAEvent.objects.get(user=user, kind="failed")
    assert event.details == {"passkey": True, "reason": "not_allowed"}
    assert not MFAEvent.objects.filter(kind="verified").exists()


def test_an_inactive_user_is_refused(client, user, key, authenticator):
    user.is_active = False
    user.save()
    response = sign_in(client, authenticator)
    assert login_page_says(client, response, "This account cannot sign in.")
    assert no_login(client)
    assert untouched(key)
    assert MFAEvent.objects.get(user=user, kind="failed").details["reason"] == "inactive"


# --- bad input ------------------------------------------------------------------------------


def _other_users_handle(authenticator, opts):
    return authenticator.get(opts, user_handle=os.urandom(32))


BAD = {
    "malformed json": (lambda a, o: "{not json", NOT_READ, False),
    "not an assertion": (lambda a, o: json.dumps({"id": "x"}), NOT_READ, False),
    "unknown credential": (lambda a, o: SoftwareAuthenticator().get(o), NOT_HERE, False),
    "wrong challenge": (lambda a, o: a.get(o, challenge=b64(os.urandom(32))), NOT_VERIFIED, True),
    "no user verification": (lambda a, o: a.get(o, uv=False), NOT_VERIFIED, True),
    "no user presence": (lambda a, o: a.get(o, up=False), NOT_VERIFIED, True),
    "wrong origin": (lambda a, o: a.get(o, origin="https://evil.example"), NOT_VERIFIED, True),
    "wrong rp id": (lambda a, o: a.get(o, rp_id="evil.example"), NOT_VERIFIED, True),
    "registration response": (lambda a, o: a.get(o, kind="webauthn.create"), NOT_VERIFIED, True),
    "user handle of another account": (_other_users_handle, NOT_VERIFIED, True),
    "no user handle": (lambda a, o: a.get(o, user_handle=None), NOT_VERIFIED, True),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_and_changes_nothing(client, user, key, authenticator, case):
    make, message, audited = BAD[case]
    assertion = make(authenticator, options(client))
    response = post(client, assertion)
    assert login_page_says(client, response, message)
    assert no_login(client)
    assert untouched(key)
    assert STATE not in client.session  # the challenge got its one answer
    assert not MFAEvent.objects.filter(kind="verified").exists()
    # A failure is audited only once the credential says whose it is.
    assert MFAEvent.objects.filter(user=user, kind="failed").exists() == audited
    if audited:
        assert MFAEvent.objects.get(kind="failed").details["passkey"] is True


def test_an_empty_answer_asks_for_the_passkey(client, key):
    response = post(client, "")
    assert login_page_says(client, response, "Use your passkey first")
    assert no_login(client)


def test_a_refusal_keeps_a_safe_next_for_the_login_page(client, key):
    response = post(client, "{", next="/mfa/security/")
    assert response.url == f"{LOGIN}?next=%2Fmfa%2Fsecurity%2F"
    response = post(client, "{", next="https://evil.example/")
    assert response.url == LOGIN


def test_without_a_challenge_in_the_session_nothing_is_accepted(client, key, authenticator):
    opts = Client().get(PASSKEY).json()  # another session's challenge
    response = post(client, authenticator.get(opts))
    assert login_page_says(client, response, SPENT)
    assert no_login(client) and untouched(key)


def test_an_expired_challenge_is_refused(client, key, authenticator):
    with time_machine.travel(time.time(), tick=False) as clock:
        assertion = authenticator.get(options(client))
        clock.shift(app_settings.CHALLENGE_TIMEOUT + 1)
        response = post(client, assertion)
    assert login_page_says(client, response, SPENT)
    assert no_login(client) and untouched(key)


def test_a_challenge_gets_one_answer_even_a_wrong_one(client, key, authenticator):
    opts = options(client)
    post(client, authenticator.get(opts, uv=False))
    response = post(client, authenticator.get(opts))
    assert login_page_says(client, response, SPENT)
    assert no_login(client)
    key.refresh_from_db()
    assert key.last_used_at is None


@pytest.mark.parametrize("counter_step", [1, 0])
def test_a_replayed_assertion_is_refused(client, user, counter_step):
    authenticator = SoftwareAuthenticator(counter_step=counter_step)
    key = stored_credential(user, authenticator)
    opts = options(client)
    state = client.session[STATE]
    assertion = authenticator.get(opts)
    assert post(client, assertion).url == HOME
    key.refresh_from_db()
    spent = (key.sign_count, key.last_used_at)
    # Same session again: the challenge is gone.
    client.logout()
    assert login_page_says(client, post(client, assertion), SPENT)
    # Even with the challenge put back (a stolen or restored session), the credential's
    # counter and last answered challenge refuse the same assertion.
    thief = Client()
    thief.get(PASSKEY)
    session = thief.session
    session[STATE] = state
    session.save()
    response = post(thief, assertion)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert no_login(thief)
    key.refresh_from_db()
    assert (key.sign_count, key.last_used_at) == spent


def test_a_counter_that_went_back_is_refused_as_a_possible_clone(client, user):
    authenticator = SoftwareAuthenticator(sign_count=10)
    key = stored_credential(user, authenticator)
    response = post(client, authenticator.get(options(client), sign_count=5))
    assert login_page_says(client, response, "went backwards")
    assert no_login(client) and untouched(key, sign_count=10)
    assert MFAEvent.objects.get(user=user, kind="failed").details["possible_clone"] is True


def test_an_unconfirmed_credential_cannot_sign_in(client, user, authenticator):
    key = stored_credential(user, authenticator, confirmed=False)
    response = sign_in(client, authenticator)
    assert login_page_says(client, response, NOT_HERE)
    assert no_login(client) and untouched(key)


def test_each_credential_signs_in_its_own_user_only(client, user, key, authenticator):
    other = UserFactory()
    other_authenticator = SoftwareAuthenticator()
    stored_credential(other, other_authenticator)
    sign_in(client, other_authenticator)
    assert client.session[SESSION_KEY] == str(other.pk)
    # The other user's handle with this user's credential: refused.
    response = post(
        client, authenticator.get(options(client), user_handle=other_authenticator.user_handle)
    )
    assert response.url.startswith(LOGIN)
    assert client.session[SESSION_KEY] == str(other.pk)
    assert untouched(key)


# --- CSRF -----------------------------------------------------------------------------------


def test_the_post_needs_a_csrf_token(csrf_client, key, authenticator):
    assertion = authenticator.get(options(csrf_client))
    response = post(csrf_client, assertion)
    assert response.status_code == 403
    assert no_login(csrf_client) and untouched(key)
    # With the token from the login page, the same (unspent) challenge signs in.
    csrf_client.get(LOGIN)
    token = csrf_client.cookies[settings.CSRF_COOKIE_NAME].value
    response = post(csrf_client, assertion, csrfmiddlewaretoken=token)
    assert response.status_code == 302 and response.url == HOME
    assert is_logged_in(csrf_client)
