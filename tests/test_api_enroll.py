"""The JSON API's enrollment: each factor, for signed-in users and for pending logins."""

import base64
import json
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from mfa_app import login_state
from mfa_app.login_state import TOTP_SECRET_KEY as SECRET_SESSION_KEY
from mfa_app.models import (
    Challenge,
    EmailFactor,
    RecoveryCodeSet,
    Requirement,
    SMSFactor,
    TOTPFactor,
    WebAuthnCredential,
)

from .conftest import is_logged_in
from .factories import TOTPFactorFactory, UserFactory, code_for
from .test_api import error_of, pending_api, set_requirement, signed_in_api
from .webauthn_authenticator import SoftwareAuthenticator


def start_totp(api) -> dict:
    response = api.post("enroll_totp")
    assert response.status_code == 200, response.content
    return response.json()


def sent_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def emailed_code() -> str:
    # Other emails (notifications) may be in the outbox: the code's subject names it.
    subjects = [m.subject for m in mail.outbox if "verification code" in m.subject]
    return re.search(r"\b(\d{6})\b", subjects[-1]).group(1)


# --- TOTP -----------------------------------------------------------------------------------


def test_a_signed_in_user_adds_an_authenticator_app(user):
    api = signed_in_api(user)
    setup = start_totp(api)
    assert set(setup) == {"secret", "otpauth_uri", "qr_code"}
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={setup['secret']}" in setup["otpauth_uri"]
    prefix = "data:image/svg+xml;base64,"
    assert setup["qr_code"].startswith(prefix)
    assert base64.b64decode(setup["qr_code"][len(prefix) :]).startswith(b"<svg")
    # Kept server side, encrypted, until confirmed; the same secret until then.
    assert setup["secret"] not in json.dumps(api.client.session[SECRET_SESSION_KEY])
    assert start_totp(api)["secret"] == setup["secret"]

    response = api.post(
        "enroll_totp_confirm", {"code": pyotp.TOTP(setup["secret"]).now(), "name": " My  phone "}
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "AUTHENTICATED"
    assert body["next"] is None
    assert len(body["recovery_codes"]) == 10
    device = TOTPFactor.objects.get(user=user)
    assert body["factor"]["id"] == str(device.pk)
    assert body["factor"]["name"] == "My phone"
    assert body["factor"]["primary"] is True
    assert setup["secret"] not in response.content.decode()
    assert SECRET_SESSION_KEY not in api.client.session
    # Never shown again: a new enrollment offers a new secret.
    assert start_totp(api)["secret"] != setup["secret"]
    assert setup["secret"] not in api.get("status").content.decode()


def test_a_wrong_code_adds_nothing(user):
    api = signed_in_api(user)
    secret = start_totp(api)["secret"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    response = api.post("enroll_totp_confirm", {"code": wrong})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_code"
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert api.post("enroll_totp_confirm", {"code": pyotp.TOTP(secret).now()}).status_code == 201


def test_confirming_without_a_secret_offered_is_invalid_request(user):
    api = signed_in_api(user)
    response = api.post("enroll_totp_confirm", {"code": "123456"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_a_name_too_long_is_invalid_name(user):
    api = signed_in_api(user)
    secret = start_totp(api)["secret"]
    response = api.post("enroll_totp_confirm", {"code": pyotp.TOTP(secret).now(), "name": "n" * 65})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "invalid_name",
        "message": "Enter a name of at most 64 characters.",
        "max_length": 64,
    }
    assert not TOTPFactor.objects.filter(user=user).exists()


def test_a_pending_login_that_must_enroll_is_signed_in_by_enrolling(db):
    set_requirement(Requirement.REQUIRED)
    user = UserFactory()
    api = pending_api(user)
    assert api.get("factors").status_code == 401
    secret = start_totp(api)["secret"]
    response = api.post("enroll_totp_confirm", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 201
    assert response.json()["status"] == "AUTHENTICATED"
    assert is_logged_in(api.client)
    assert Challenge.objects.get(user=user).factor_type == "TOTP"
    assert api.get("status").json()["recently_authenticated"] is True


def test_an_enrollment_finishing_after_the_pending_login_ended_changes_nothing(db):
    set_requirement(Requirement.REQUIRED)
    user = UserFactory()
    api = pending_api(user)
    secret = start_totp(api)["secret"]
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = api.post("enroll_totp_confirm", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 401
    assert error_of(response)["code"] == "challenge_expired"
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert login_state.PENDING_KEY not in api.client.session
    assert not is_logged_in(api.client)


def test_a_pending_login_waiting_for_its_challenge_cannot_enroll(db):
    device = TOTPFactorFactory()
    api = pending_api(device.user)
    response = api.post("enroll_totp")
    assert response.status_code == 401
    assert response.json()["status"] == "MFA_REQUIRED"
    assert SECRET_SESSION_KEY not in api.client.session


def test_an_anonymous_client_cannot_enroll(db):
    from .test_api import Api

    response = Api().post("enroll_totp")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


# --- recent authentication ------------------------------------------------------------------


def test_adding_a_factor_needs_a_recent_password_then_works(user):
    api = signed_in_api(user)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        refused = api.post("enroll_totp")
        assert refused.status_code == 403
        assert error_of(refused)["reauthenticate_with"] == "password"
        assert error_of(refused)["code"] == "reauthentication_required"
        wrong = api.post("reauthenticate", {"password": "not it"})
        assert wrong.status_code == 400
        assert error_of(wrong)["code"] == "reauthentication_failed"
        assert error_of(wrong)["attempts_left"] == 4
        from .factories import PASSWORD

        right = api.post("reauthenticate", {"password": PASSWORD})
        assert right.status_code == 200
        assert right.json() == {"status": "AUTHENTICATED", "recently_authenticated": True}
        assert api.post("enroll_totp").status_code == 200


def test_wrong_passwords_at_reauthentication_sign_the_session_out(user, settings):
    api = signed_in_api(user)
    for left in (4, 3, 2, 1):
        assert error_of(api.post("reauthenticate", {"password": "no"}))["attempts_left"] == left
    response = api.post("reauthenticate", {"password": "no"})
    assert response.status_code == 429
    assert error_of(response)["code"] == "locked_out"
    assert not is_logged_in(api.client)


def test_a_user_with_a_factor_steps_up_with_a_challenge_to_add_another(totp_user):
    device = TOTPFactor.objects.get(user=totp_user)
    api = signed_in_api(totp_user)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        refused = api.post("enroll_webauthn")
        assert error_of(refused)["code"] == "reauthentication_required"
        assert error_of(refused)["reauthenticate_with"] == "challenge"
        challenge = api.post("challenge").json()["challenge"]
        verified = api.post(
            "verify",
            {"challenge_id": challenge["id"], "factor": "TOTP", "code": code_for(device, 1)},
        )
        assert verified.status_code == 200
        assert api.post("enroll_webauthn").status_code == 200


# --- WebAuthn -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_string", [False, True])
def test_a_security_key_is_added_from_the_browsers_response(user, as_string):
    api = signed_in_api(user)
    response = api.post("enroll_webauthn")
    assert response.status_code == 200
    options = response.json()["options"]
    assert options["rp"]["id"] == "testserver"
    assert options["attestation"] == "none"
    authenticator = SoftwareAuthenticator()
    credential = authenticator.create(options)
    confirmed = api.post(
        "enroll_webauthn_confirm",
        {"credential": credential if as_string else json.loads(credential), "name": "Blue key"},
    )
    assert confirmed.status_code == 201, confirmed.content
    key = WebAuthnCredential.objects.get(user=user)
    assert bytes(key.credential_id) == authenticator.credential_id
    assert confirmed.json()["factor"]["name"] == "Blue key"
    assert confirmed.json()["factor"]["type"] == "WEBAUTHN"


def test_a_tampered_or_replayed_registration_is_refused(user):
    api = signed_in_api(user)
    options = api.post("enroll_webauthn").json()["options"]
    authenticator = SoftwareAuthenticator()
    forged = authenticator.create(options, origin="https://evil.example")
    response = api.post("enroll_webauthn_confirm", {"credential": forged})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_code"
    # The challenge was spent by that answer: the genuine one is refused now too.
    genuine = authenticator.create(options)
    assert error_of(api.post("enroll_webauthn_confirm", {"credential": genuine}))["code"] == (
        "invalid_code"
    )
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    for bad in ("", {"id": 1}, "garbage", ["list"]):
        response = api.post("enroll_webauthn_confirm", {"credential": bad})
        assert response.status_code == 400


def test_webauthn_is_not_offered_when_the_policy_does_not_allow_it(user, app_policy):
    app_policy.allowed_factors = ["TOTP"]
    app_policy.save()
    api = signed_in_api(user)
    response = api.post("enroll_webauthn")
    assert response.status_code == 403
    assert error_of(response)["code"] == "factor_not_allowed"


# --- SMS and email --------------------------------------------------------------------------


def test_a_phone_is_added_with_the_code_texted_to_it(user, allow_codes, sms_outbox):
    api = signed_in_api(user)
    sent = api.post("enroll_sms", {"phone_number": "+1 415 555 2671"})
    assert sent.status_code == 202
    assert sent.json() == {
        "sent_to": "***-***-2671",
        "expires_in": 600,
        "phone_number": "+14155552671",
    }
    code = sent_code(sms_outbox)
    wrong = "000000" if code != "000000" else "111111"
    refused = api.post("enroll_sms_confirm", {"phone_number": "+14155552671", "code": wrong})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "invalid_code"
    assert error_of(refused)["attempts_left"] == 4
    confirmed = api.post(
        "enroll_sms_confirm", {"phone_number": "+14155552671", "code": code, "name": "Work"}
    )
    assert confirmed.status_code == 201
    factor = confirmed.json()["factor"]
    assert factor["destination"] == "***-***-2671"
    assert factor["name"] == "Work"
    assert "+14155552671" not in confirmed.content.decode()
    assert SMSFactor.objects.filter(user=user).count() == 1
    # The code is spent.
    replay = api.post("enroll_sms_confirm", {"phone_number": "+14155552671", "code": code})
    assert replay.status_code == 400


def test_a_bad_phone_number_is_invalid_phone_number(user, allow_codes, sms_outbox):
    api = signed_in_api(user)
    for number in ("12", "+1 800 555 0100", "not a number"):
        response = api.post("enroll_sms", {"phone_number": number})
        assert response.status_code == 400, number
        assert error_of(response)["code"] == "invalid_phone_number"
    assert sms_outbox == []


def test_sending_again_at_once_is_rate_limited_with_retry_after(user, allow_codes, sms_outbox):
    api = signed_in_api(user)
    assert api.post("enroll_sms", {"phone_number": "+14155552671"}).status_code == 202
    again = api.post("enroll_sms", {"phone_number": "+14155552671"})
    assert again.status_code == 429
    error = error_of(again)
    assert error["code"] == "rate_limited"
    assert 0 < int(again["Retry-After"]) <= 30
    assert error["retry_after"] == int(again["Retry-After"])
    assert len(sms_outbox) == 1


def test_the_accounts_address_is_added_with_the_code_emailed_to_it(user, allow_codes):
    api = signed_in_api(user)
    sent = api.post("enroll_email")
    assert sent.status_code == 202
    assert sent.json()["sent_to"] == f"{user.email[0]}***@example.com"
    confirmed = api.post("enroll_email_confirm", {"code": emailed_code()})
    assert confirmed.status_code == 201
    assert EmailFactor.objects.get(user=user).email == user.email
    again = api.post("enroll_email")
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_enrolled"


# --- postponing -----------------------------------------------------------------------------


def test_a_pending_login_within_its_grace_period_may_postpone(db):
    set_requirement(Requirement.REQUIRED, grace_period_days=3)
    user = UserFactory()
    api = pending_api(user)
    response = api.post("enroll_later")
    assert response.status_code == 200
    assert response.json() == {"status": "AUTHENTICATED", "next": None, "grace_days_left": 3}
    assert is_logged_in(api.client)
    assert not RecoveryCodeSet.objects.filter(user=user).exists()


def test_without_a_grace_period_enrollment_cannot_be_postponed(db):
    set_requirement(Requirement.REQUIRED)
    api = pending_api(UserFactory())
    response = api.post("enroll_later")
    assert response.status_code == 403
    assert error_of(response)["code"] == "grace_period_over"
    assert not is_logged_in(api.client)
    assert api.get("status").json()["status"] == "MFA_ENROLLMENT_REQUIRED"


def test_a_pending_login_that_must_enroll_can_add_a_security_key(db):
    set_requirement(Requirement.REQUIRED)
    user = UserFactory()
    api = pending_api(user)
    options = api.post("enroll_webauthn").json()["options"]
    response = api.post(
        "enroll_webauthn_confirm", {"credential": SoftwareAuthenticator().create(options)}
    )
    assert response.status_code == 201
    assert len(response.json()["recovery_codes"]) == 10
    assert is_logged_in(api.client)
    assert Challenge.objects.get(user=user).factor_type == "WEBAUTHN"
