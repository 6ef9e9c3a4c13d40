"""Token clients that must enroll, and security keys: the JSON API's enrollment and WebAuthn
steps, fed the pending login a challenge token carries and the sign-in's own server-side
records (no cookie), then the tokens."""

import json

import pytest
from django.contrib.sessions.models import Session

from mfa_app.models import Challenge, TOTPFactor, WebAuthnCredential

from .factories import TOTPFactorFactory, UserFactory, code_for
from .test_api import set_requirement
from .test_drf_tokens import TOKEN_FIELDS, VERIFY_URL, claims_of, obtain, post, verify
from .webauthn_authenticator import SoftwareAuthenticator, stored_credential

pytestmark = pytest.mark.urls("tests.drf_urls")

ENROLL = "/api/auth/enroll/"


def enrollment_token(user) -> str:
    response = obtain(user)
    assert response.status_code == 401, response.content
    assert response.json()["status"] == "MFA_ENROLLMENT_REQUIRED"
    return response.json()["challenge_token"]


@pytest.fixture
def required(db):
    set_requirement("REQUIRED")


def test_a_token_client_enrolls_an_app_and_gets_its_tokens(required):
    user = UserFactory()
    token = enrollment_token(user)
    begun = post(f"{ENROLL}totp/", {"challenge_token": token})
    assert begun.status_code == 200, begun.content
    assert not begun.cookies
    secret = begun.json()["secret"]
    # The offered secret is kept server side between the two steps, as for a session.
    assert post(f"{ENROLL}totp/", {"challenge_token": token}).json()["secret"] == secret
    done = post(f"{ENROLL}totp/confirm/", {"challenge_token": token, "code": code_for(secret)})
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["status"] == "AUTHENTICATED"
    assert body["factor"]["type"] == "TOTP"
    assert len(body["recovery_codes"]) == 10
    assert claims_of(body["access"])["amr"] == ["pwd", "mfa", "otp"]
    assert TOTPFactor.objects.get(user=user).confirmed
    # Spent: the enrollment's challenge token adds nothing and gets no token again.
    again = post(f"{ENROLL}totp/confirm/", {"challenge_token": token, "code": code_for(secret)})
    assert again.status_code == 401
    assert not TOKEN_FIELDS & set(again.json())
    assert TOTPFactor.objects.filter(user=user).count() == 1


def test_a_wrong_code_enrolls_nothing_and_gets_no_token(required):
    user = UserFactory()
    token = enrollment_token(user)
    secret = post(f"{ENROLL}totp/", {"challenge_token": token}).json()["secret"]
    wrong = "000000" if code_for(secret) != "000000" else "111111"
    refused = post(f"{ENROLL}totp/confirm/", {"challenge_token": token, "code": wrong})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_code"
    assert not TOKEN_FIELDS & set(refused.json())
    assert not TOTPFactor.objects.filter(user=user, confirmed=True).exists()


def test_another_sign_ins_records_are_not_this_ones(required):
    user = UserFactory()
    first, second = enrollment_token(user), enrollment_token(user)
    secret = post(f"{ENROLL}totp/", {"challenge_token": first}).json()["secret"]
    refused = post(f"{ENROLL}totp/confirm/", {"challenge_token": second, "code": code_for(secret)})
    assert refused.status_code == 400
    assert not TOTPFactor.objects.filter(user=user, confirmed=True).exists()


def test_a_challenge_token_of_an_enrolled_user_cannot_enroll(db):
    device = TOTPFactorFactory()
    token = obtain(device.user).json()["challenge_token"]
    refused = post(f"{ENROLL}totp/", {"challenge_token": token})
    assert refused.status_code == 401
    assert refused.json()["status"] == "MFA_REQUIRED"


def test_enrolling_by_text_message(allow_codes, sms_outbox):
    set_requirement("REQUIRED", allowed_factors=["SMS"])
    user = UserFactory()
    token = enrollment_token(user)
    sent = post(f"{ENROLL}sms/", {"challenge_token": token, "phone_number": "+14155552671"})
    assert sent.status_code == 202, sent.content
    code = "".join(ch for ch in sms_outbox[-1].body if ch.isdigit())[-6:]
    done = post(
        f"{ENROLL}sms/confirm/",
        {"challenge_token": token, "phone_number": "+14155552671", "code": code},
    )
    assert done.status_code == 201, done.content
    assert claims_of(done.json()["access"])["mfa_factor"] == "SMS"


def test_enroll_later_within_the_grace_period_gives_tokens_without_mfa_once(db):
    set_requirement("REQUIRED", grace_period_days=3)
    user = UserFactory()
    token = enrollment_token(user)
    later = post(f"{ENROLL}later/", {"challenge_token": token})
    assert later.status_code == 200, later.content
    assert later.json()["grace_days_left"] == 3
    assert claims_of(later.json()["access"])["amr"] == ["pwd"]
    again = post(f"{ENROLL}later/", {"challenge_token": token})
    assert again.status_code == 401
    assert not TOKEN_FIELDS & set(again.json())


def test_enroll_later_without_a_grace_period_is_refused(required):
    token = enrollment_token(UserFactory())
    refused = post(f"{ENROLL}later/", {"challenge_token": token})
    assert refused.status_code == 403
    assert not TOKEN_FIELDS & set(refused.json())


def test_the_sign_ins_records_go_when_it_ends(required):
    user = UserFactory()
    token = enrollment_token(user)
    post(f"{ENROLL}totp/", {"challenge_token": token})
    assert Session.objects.count() == 1
    assert post("/api/auth/challenge/cancel/", {"challenge_token": token}).status_code == 204
    assert Session.objects.count() == 0
    assert not Challenge.objects.filter(user=user).exists()


# --- security keys ----------------------------------------------------------------------------


def test_a_security_key_answers_a_token_clients_challenge(db):
    user = UserFactory()
    authenticator = SoftwareAuthenticator()
    stored_credential(user, authenticator)
    token = obtain(user).json()["challenge_token"]
    prepared = post("/api/auth/challenge/", {"challenge_token": token, "factor": "WEBAUTHN"})
    assert prepared.status_code == 200, prepared.content
    assertion = json.loads(authenticator.get(prepared.json()["webauthn_options"]))
    response = post(
        VERIFY_URL, {"challenge_token": token, "factor": "WEBAUTHN", "credential": assertion}
    )
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access"])["amr"] == ["pwd", "mfa", "hwk"]


def test_a_security_key_answer_to_another_sign_ins_options_is_refused(db):
    user = UserFactory()
    authenticator = SoftwareAuthenticator()
    stored_credential(user, authenticator)
    first, second = obtain(user).json()["challenge_token"], obtain(user).json()["challenge_token"]
    options = post("/api/auth/challenge/", {"challenge_token": first, "factor": "WEBAUTHN"})
    assertion = json.loads(authenticator.get(options.json()["webauthn_options"]))
    refused = verify(second, "", factor="WEBAUTHN", credential=assertion)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_code"
    assert WebAuthnCredential.objects.get(user=user).last_used_at is None
