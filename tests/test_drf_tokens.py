"""Token clients (Django REST framework, Simple JWT): a password alone never yields a token for
an enrolled user; the challenge token is single use, short-lived, bound to its user and
cancellable; answers count in the same lockout and rate limits as the pages'."""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from mfa_app import devices
from mfa_app.contrib.rest_framework import challenge_tokens
from mfa_app.models import Challenge, MFAEvent, TokenVerification

from .conftest import password_login
from .factories import PASSWORD, SMSFactorFactory, TOTPFactorFactory, UserFactory, code_for
from .test_api import set_requirement
from .test_api_challenge import wrong_code

pytestmark = pytest.mark.urls("tests.drf_urls")

JWT_URL = "/api/auth/token/"
AUTHTOKEN_URL = "/api/auth/auth-token/"
CHALLENGE_URL = "/api/auth/challenge/"
VERIFY_URL = "/api/auth/challenge/verify/"
CANCEL_URL = "/api/auth/challenge/cancel/"
TOKEN_FIELDS = {"access", "refresh", "token"}


def client() -> Client:
    # Token clients keep no cookies and send no CSRF token: the checks stay on regardless.
    return Client(enforce_csrf_checks=True)


def post(url: str, data: dict, **headers):
    return client().post(url, data, content_type="application/json", **headers)


def credentials(user, url: str = JWT_URL, password: str = PASSWORD) -> dict:
    # Simple JWT's field is the user model's USERNAME_FIELD; DRF's is always "username".
    name = "username" if url == AUTHTOKEN_URL else get_user_model().USERNAME_FIELD
    return {name: user.get_username(), "password": password}


def obtain(user, url: str = JWT_URL, **fields):
    return post(url, {**credentials(user, url), **fields})


def challenge_token_of(user, url: str = JWT_URL) -> str:
    response = obtain(user, url)
    assert response.status_code == 401, response.content
    return response.json()["challenge_token"]


def verify(token: str, code: str, factor: str = "TOTP", **fields):
    return post(VERIFY_URL, {"challenge_token": token, "factor": factor, "code": code, **fields})


def bearer(access: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def claims_of(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


@pytest.fixture
def totp(db):
    return TOTPFactorFactory()


# --- a password alone -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [JWT_URL, AUTHTOKEN_URL])
def test_a_password_alone_never_yields_a_token_for_an_enrolled_user(totp, url):
    response = obtain(totp.user, url)
    assert response.status_code == 401
    body = response.json()
    assert not TOKEN_FIELDS & set(body)
    assert body["status"] == "MFA_REQUIRED"
    assert body["url"] == VERIFY_URL
    assert body["challenge"]["factors"] == [{"type": "TOTP", "primary": True}]
    assert body["challenge_token"]
    assert response["Cache-Control"] == "no-store"
    assert not Token.objects.exists()
    # The same server-side record as a page sign-in: one challenge, opened and audited.
    challenge = Challenge.objects.get(user=totp.user)
    assert str(challenge.pk) == body["challenge"]["id"]
    assert MFAEvent.objects.filter(user=totp.user, kind="challenged").count() == 1


def test_the_json_api_body_is_the_same_as_the_session_apis(totp):
    token_body = obtain(totp.user).json()
    session = Client()
    password_login(session, totp.user)
    session_body = session.get(reverse("mfa_app:api:status")).json()
    assert set(token_body) - {"challenge_token"} == set(session_body)
    assert token_body["challenge"]["factors"] == session_body["challenge"]["factors"]


def test_a_wrong_password_gets_simple_jwts_own_answer(totp):
    response = post(JWT_URL, credentials(totp.user, JWT_URL, "wrong"))
    assert response.status_code == 401
    assert response.json() == {"detail": "No active account found with the given credentials"}
    assert not Challenge.objects.exists()


def test_a_wrong_password_gets_drfs_own_answer(totp):
    response = post(AUTHTOKEN_URL, credentials(totp.user, AUTHTOKEN_URL, "wrong"))
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_a_user_without_a_factor_gets_tokens_that_say_no_mfa(user):
    response = obtain(user)
    assert response.status_code == 200
    access = response.json()["access"]
    assert claims_of(access)["amr"] == ["pwd"]
    assert "mfa_at" not in claims_of(access)
    assert client().get("/drf-test/profile/", **bearer(access)).status_code == 200
    assert client().get("/drf-test/secret/", **bearer(access)).status_code == 403


def test_under_a_required_policy_a_user_without_a_factor_must_enroll_first(user):
    set_requirement("REQUIRED")
    response = obtain(user)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "MFA_ENROLLMENT_REQUIRED"
    assert not TOKEN_FIELDS & set(body)
    # Its challenge token answers nothing: the pending login must enroll.
    refused = verify(body["challenge_token"], "123456")
    assert refused.status_code == 401
    assert refused.json()["status"] == "MFA_ENROLLMENT_REQUIRED"


# --- the challenge --------------------------------------------------------------------------


def test_the_right_code_yields_tokens_that_say_how_and_when_mfa_was_passed(totp):
    token = challenge_token_of(totp.user)
    response = verify(token, code_for(totp))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "AUTHENTICATED"
    assert body["device_remembered"] is False
    assert response["Cache-Control"] == "no-store"
    claims = claims_of(body["access"])
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert claims["mfa_factor"] == "TOTP"
    assert abs(claims["mfa_at"] - timezone.now().timestamp()) < 5
    secret = client().get("/drf-test/secret/", **bearer(body["access"]))
    assert secret.status_code == 200
    assert secret.json() == {"secret": 42}
    assert MFAEvent.objects.filter(user=totp.user, kind="verified").count() == 1


def test_drfs_token_key_is_issued_after_the_challenge_and_replaces_a_password_only_one(totp):
    old = Token.objects.create(user=totp.user)
    token = challenge_token_of(totp.user, AUTHTOKEN_URL)
    assert Token.objects.get(user=totp.user).key == old.key
    response = verify(token, code_for(totp))
    assert response.status_code == 200
    key = response.json()["token"]
    assert key != old.key
    assert not Token.objects.filter(key=old.key).exists()
    assert TokenVerification.objects.get(user=totp.user).methods == "pwd mfa otp"
    # The key itself is not in the table that says how it was earned.
    assert not TokenVerification.objects.filter(digest=key).exists()
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client().get("/drf-test/secret/", **headers).status_code == 200


def test_a_key_from_drfs_own_view_is_not_mfa_verified(totp):
    key = Token.objects.create(user=totp.user).key
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client().get("/drf-test/profile/", **headers).status_code == 200
    assert client().get("/drf-test/secret/", **headers).status_code == 403


def test_a_challenge_token_is_refused_a_second_time(totp):
    token = challenge_token_of(totp.user)
    assert verify(token, code_for(totp)).status_code == 200
    again = verify(token, code_for(totp, 1))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "challenge_already_verified"
    assert not TOKEN_FIELDS & set(again.json())


def test_a_challenge_token_is_refused_after_ten_minutes(totp):
    token = challenge_token_of(totp.user)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = verify(token, code_for(totp))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "challenge_expired"


def test_a_challenge_token_is_refused_for_another_user(totp):
    other = TOTPFactorFactory()
    carried = challenge_tokens.read(challenge_token_of(totp.user))
    pending, kind = carried.pending, carried.kind
    others_pending = challenge_tokens.read(challenge_token_of(other.user)).pending
    # A validly signed token naming the other user with this user's challenge (and the
    # other way round) passes neither: the challenge row belongs to one user.
    for user_pk, challenge_id, device in (
        (other.user.pk, pending.challenge_id, other),
        (totp.user.pk, others_pending.challenge_id, totp),
    ):
        forged = signing.dumps(
            {
                "pending": {
                    **pending.__dict__,
                    "user_pk": str(user_pk),
                    "challenge_id": challenge_id,
                },
                "kind": kind,
            },
            salt=challenge_tokens.SALT,
        )
        response = verify(forged, code_for(device))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "challenge_expired"


@pytest.mark.parametrize("token", ["", "x" * 3000, "not.a.token", 42, None])
def test_a_tampered_or_malformed_challenge_token_is_refused(totp, token):
    response = verify(token, code_for(totp))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "challenge_expired"


def test_a_challenge_token_signed_with_another_salt_is_refused(totp):
    real = challenge_token_of(totp.user)
    data = signing.loads(real, salt=challenge_tokens.SALT)
    forged = signing.dumps(data, salt="another purpose")
    assert verify(forged, code_for(totp)).status_code == 401


def test_a_challenge_token_is_refused_after_cancel(totp):
    token = challenge_token_of(totp.user)
    assert post(CANCEL_URL, {"challenge_token": token}).status_code == 204
    assert not Challenge.objects.filter(user=totp.user).exists()
    response = verify(token, code_for(totp))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "challenge_expired"


def test_a_password_change_ends_the_pending_token_login(totp):
    token = challenge_token_of(totp.user)
    totp.user.set_password("a new one, much longer")
    totp.user.save()
    assert verify(token, code_for(totp)).status_code == 401


def test_wrong_codes_count_down_then_the_challenge_token_is_dead(totp):
    token = challenge_token_of(totp.user)
    for left in (4, 3, 2, 1):
        response = verify(token, wrong_code(totp))
        assert response.status_code == 400
        assert response.json()["valid"] is False
        assert response.json()["error"] == {
            "code": "invalid_code",
            "message": response.json()["error"]["message"],
            "attempts_left": left,
        }
    locked = verify(token, wrong_code(totp))
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    after = verify(token, code_for(totp))
    assert after.status_code == 429
    assert not TOKEN_FIELDS & set(after.json())
    assert MFAEvent.objects.filter(user=totp.user, kind="locked_out").count() == 1


def test_token_answers_and_page_answers_share_the_users_lockout(totp, settings):
    # Five wrong answers (LOCKOUT_DELAY_AFTER), three on the pages and two as a token client,
    # on different sign-ins: the next answer waits, whichever channel sends it.
    for _ in range(3):
        session = Client()
        password_login(session, totp.user)
        page = session.post(
            reverse("mfa_app:challenge"), {"factor": "TOTP", "code": wrong_code(totp)}
        )
        assert page.status_code == 400
    for _ in range(2):
        assert verify(challenge_token_of(totp.user), wrong_code(totp)).status_code == 400
    waiting = verify(challenge_token_of(totp.user), code_for(totp))
    assert waiting.status_code == 429
    assert waiting.json()["error"]["code"] == "rate_limited"
    assert not TOKEN_FIELDS & set(waiting.json())


def test_token_answers_count_in_the_per_ip_limit_like_page_answers(totp, settings):
    settings.MFA_IP_ATTEMPTS_PER_HOUR = 2
    other = TOTPFactorFactory()
    session = Client()
    password_login(session, other.user)
    session.post(reverse("mfa_app:challenge"), {"factor": "TOTP", "code": wrong_code(other)})
    assert verify(challenge_token_of(totp.user), wrong_code(totp)).status_code == 400
    limited = verify(challenge_token_of(totp.user), code_for(totp))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"


def test_an_sms_code_is_sent_and_answers_the_challenge(allow_codes, sms_outbox):
    device = SMSFactorFactory()
    token = challenge_token_of(device.user)
    sent = post(
        CHALLENGE_URL, {"challenge_token": token, "factor": "SMS", "device_id": str(device.pk)}
    )
    assert sent.status_code == 202, sent.content
    assert sent.json()["sent_to"].endswith("71")
    code = "".join(ch for ch in sms_outbox[-1].body if ch.isdigit())[-6:]
    response = verify(token, code, factor="SMS")
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access"])["amr"] == ["pwd", "mfa", "sms"]


def test_a_recovery_code_answers_and_says_so(totp):
    from mfa_app import services

    codes = services.regenerate_recovery_codes(totp.user)
    response = verify(challenge_token_of(totp.user), codes[0], factor="RECOVERY")
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access"])["mfa_factor"] == "RECOVERY"


# --- remembered devices ---------------------------------------------------------------------


def test_a_remembered_device_token_skips_the_next_challenge(totp):
    response = verify(challenge_token_of(totp.user), code_for(totp), remember_device=True)
    body = response.json()
    assert body["device_remembered"] is True
    # Given in the body, not as a browser cookie.
    assert not response.cookies
    again = obtain(totp.user, device_token=body["device_token"])
    assert again.status_code == 200, again.content
    # Skipping the challenge is not passing MFA: the tokens say so.
    assert "mfa_at" not in claims_of(again.json()["access"])
    assert MFAEvent.objects.filter(user=totp.user, kind="device_remembered").count() == 1


def test_a_tampered_or_foreign_device_token_does_not_skip_the_challenge(totp):
    body = verify(challenge_token_of(totp.user), code_for(totp), remember_device=True).json()
    device_token = body["device_token"]
    assert obtain(totp.user, device_token=device_token[:-1] + "x").status_code == 401
    # The raw browser token without its signature, and another user's remembered token.
    raw = signing.Signer(salt=challenge_tokens.DEVICE_SALT).unsign(device_token)
    assert len(raw) == devices.TOKEN_LENGTH
    assert obtain(totp.user, device_token=raw).status_code == 401
    other = TOTPFactorFactory()
    assert obtain(other.user, device_token=device_token).status_code == 401


# --- step-up --------------------------------------------------------------------------------


def test_is_mfa_verified_within_max_age_asks_for_a_fresh_sign_in(totp):
    body = verify(challenge_token_of(totp.user), code_for(totp)).json()
    assert client().post("/drf-test/payout/", **bearer(body["access"])).status_code == 200
    later = timezone.now() + timedelta(seconds=61)
    with time_machine.travel(later):
        refreshed = post("/api/auth/refresh/", {"refresh": body["refresh"]}).json()["access"]
        # A refreshed access token keeps the time MFA was passed: still too old.
        for access in (body["access"], refreshed):
            refused = client().post("/drf-test/payout/", **bearer(access))
            assert refused.status_code == 403
        assert client().get("/drf-test/secret/", **bearer(refreshed)).status_code == 200
        fresh = verify(challenge_token_of(totp.user), code_for(totp)).json()["access"]
        assert client().post("/drf-test/payout/", **bearer(fresh)).status_code == 200


def test_a_session_that_passed_mfa_is_mfa_verified_for_drf_views(totp):
    from .conftest import sign_in_with_mfa

    session = Client()
    sign_in_with_mfa(session, totp.user)
    assert session.get("/drf-test/secret/").status_code == 200
    plain = Client()
    plain.force_login(UserFactory())
    assert plain.get("/drf-test/secret/").status_code == 403


# --- signing every session out (SES-06) -----------------------------------------------------


@pytest.mark.parametrize("url", [JWT_URL, AUTHTOKEN_URL])
def test_signing_every_session_out_ends_the_tokens_issued_before(totp, url):
    from mfa_app import services

    body = verify(challenge_token_of(totp.user, url), code_for(totp)).json()
    headers = (
        {"HTTP_AUTHORIZATION": f"Token {body['token']}"}
        if "token" in body
        else bearer(body["access"])
    )
    assert client().get("/drf-test/secret/", **headers).status_code == 200
    services.sign_out_other_sessions(totp.user)
    refused = client().get("/drf-test/profile/", **headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This token was signed out. Sign in again."
    assert client().get("/api/auth/status/", **headers).status_code == 401
    # A new sign-in, under the new epoch, works.
    fresh = verify(challenge_token_of(totp.user, url), code_for(totp, 1)).json()
    headers = (
        {"HTTP_AUTHORIZATION": f"Token {fresh['token']}"}
        if "token" in fresh
        else bearer(fresh["access"])
    )
    assert client().get("/drf-test/secret/", **headers).status_code == 200


def test_a_refresh_token_issued_before_a_sign_out_everywhere_is_no_proof(totp):
    from mfa_app import services

    body = verify(challenge_token_of(totp.user), code_for(totp)).json()
    services.sign_out_other_sessions(totp.user)
    # Simple JWT's refresh view knows nothing of it; the access token it gives proves nothing.
    refreshed = post("/api/auth/refresh/", {"refresh": body["refresh"]}).json()["access"]
    assert client().get("/drf-test/profile/", **bearer(refreshed)).status_code == 401
