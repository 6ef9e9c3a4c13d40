"""The JSON API's challenges: a pending login's, a signed-in user's step-up; what an attacker
meets (wrong codes, lockout, replay, another session's challenge, rate limits)."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mfa_app import login_state
from mfa_app.login_state import STEP_UP_KEY
from mfa_app.models import Challenge, MFAEvent, TOTPFactor, TrustedDevice

from .conftest import is_logged_in
from .factories import SMSFactorFactory, TOTPFactorFactory, code_for
from .test_api import Api, csrf_relaxed, error_of, pending_api, signed_in_api
from .webauthn_authenticator import SoftwareAuthenticator, stored_credential


def challenge_of(api) -> dict:
    body = api.get("status").json()
    assert body["status"] == "MFA_REQUIRED", body
    return body["challenge"]


def verify(api, factor="TOTP", challenge_id=None, **fields):
    challenge_id = challenge_id or challenge_of(api)["id"]
    return api.post("verify", {"challenge_id": challenge_id, "factor": factor, **fields})


def wrong_code(device) -> str:
    right = {code_for(device, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


@pytest.fixture
def totp(db):
    return TOTPFactorFactory()


# --- a pending login ------------------------------------------------------------------------


def test_a_right_code_signs_the_pending_login_in(totp):
    api = pending_api(totp.user)
    response = verify(api, code=code_for(totp))
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "status": "AUTHENTICATED",
        "next": None,
        "device_remembered": False,
    }
    assert is_logged_in(api.client)
    assert api.get("status").json()["status"] == "AUTHENTICATED"


def test_the_next_url_of_the_login_form_comes_back(totp):
    api = Api()
    with csrf_relaxed(api.client):
        from .conftest import password_login

        password_login(api.client, totp.user, next_url="/private/")
    assert verify(api, code=code_for(totp)).json()["next"] == "/private/"


def test_wrong_codes_count_down_then_the_pending_login_is_dropped(totp):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    for left in (4, 3, 2, 1):
        response = verify(api, challenge_id=challenge_id, code=wrong_code(totp))
        assert response.status_code == 400
        assert response.json()["valid"] is False
        assert error_of(response)["code"] == "invalid_code"
        assert error_of(response)["attempts_left"] == left
    response = verify(api, challenge_id=challenge_id, code=wrong_code(totp))
    assert response.status_code == 429
    assert error_of(response)["code"] == "locked_out"
    assert login_state.PENDING_KEY not in api.client.session
    # Even the right code is too late now.
    late = verify(api, challenge_id=challenge_id, code=code_for(totp))
    assert late.status_code == 401
    assert error_of(late)["code"] == "not_authenticated"
    assert not is_logged_in(api.client)
    assert MFAEvent.objects.filter(kind=MFAEvent.Kind.LOCKED_OUT, user=totp.user).exists()


@pytest.mark.parametrize("typo", ["12345a", "12345", "1234567", "abcdef"])
def test_an_answer_of_the_wrong_shape_is_refused_and_costs_no_attempt(totp, typo):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    typo_response = verify(api, challenge_id=challenge_id, code=typo)
    assert typo_response.status_code == 400
    assert error_of(typo_response)["code"] == "invalid_request"
    assert error_of(typo_response)["field"] == "code"
    # The next wrong answer is the first one counted.
    counted = verify(api, challenge_id=challenge_id, code=wrong_code(totp))
    assert error_of(counted)["attempts_left"] == 4
    assert verify(api, challenge_id=challenge_id, code=code_for(totp)).status_code == 200


def test_a_used_code_cannot_be_replayed(totp):
    code = code_for(totp)
    first = pending_api(totp.user)
    assert verify(first, code=code).status_code == 200
    second = pending_api(totp.user)
    response = verify(second, code=code)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_code"
    assert not is_logged_in(second.client)


def test_the_old_session_of_a_verified_login_gets_nothing(totp):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    session = api.client.cookies["sessionid"].value
    assert verify(api, challenge_id=challenge_id, code=code_for(totp)).status_code == 200
    # The same request again, from the session id as it was before the login (a replay).
    replay = Api()
    replay.client.cookies["sessionid"] = session
    replay.client.cookies["csrftoken"] = api.token()
    response = verify(replay, challenge_id=challenge_id, code=code_for(totp, 1))
    assert response.status_code == 401
    assert not is_logged_in(replay.client)


def test_a_challenge_verified_meanwhile_cannot_be_verified_again(totp):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    # Another request of this session won the race (a double click).
    Challenge.objects.filter(pk=challenge_id).update(verified_at=timezone.now())
    response = verify(api, challenge_id=challenge_id, code=code_for(totp))
    assert response.status_code == 409
    assert response.json()["valid"] is False
    assert error_of(response)["code"] == "challenge_already_verified"
    # The loser leaves the session alone: a deleted cookie would sign the winner's browser out.
    assert "sessionid" not in response.cookies


def test_the_same_verify_sent_again_after_it_signed_in_is_409(totp):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    assert verify(api, challenge_id=challenge_id, code=code_for(totp)).status_code == 200
    # A client retrying the request whose answer it lost (or a double submit, in order).
    for code in (code_for(totp), code_for(totp, 1), "000000"):
        again = verify(api, challenge_id=challenge_id, code=code)
        assert again.status_code == 409
        assert again.json()["valid"] is False
        assert error_of(again)["code"] == "challenge_already_verified"
    # Nothing was counted against the user, and the session stays signed in.
    assert Challenge.objects.get(pk=challenge_id).failures == 0
    assert is_logged_in(api.client)
    assert api.get("status").json()["status"] == "AUTHENTICATED"


def test_another_sessions_challenge_is_refused_and_counts_nothing(totp):
    victim = pending_api(totp.user)
    victims = challenge_of(victim)["id"]
    attacker = pending_api(TOTPFactorFactory().user)
    for challenge_id in (victims, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = verify(attacker, challenge_id=challenge_id, code="123456")
        assert response.status_code == 404
        assert error_of(response)["code"] == "challenge_not_found"
    assert Challenge.objects.get(pk=victims).failures == 0
    assert not is_logged_in(attacker.client)
    assert verify(victim, challenge_id=victims, code=code_for(totp)).status_code == 200


def test_a_challenge_answered_too_late_is_expired_and_dropped(totp):
    api = pending_api(totp.user)
    challenge_id = challenge_of(api)["id"]
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = verify(api, challenge_id=challenge_id, code=code_for(totp))
    assert response.status_code == 401
    assert error_of(response)["code"] == "challenge_expired"
    assert login_state.PENDING_KEY not in api.client.session


def test_a_factor_the_user_lacks_is_not_allowed(totp):
    api = pending_api(totp.user)
    for factor in ("SMS", "WEBAUTHN", "RECOVERY", "NOPE"):
        response = verify(api, factor=factor, code="123456", credential="{}")
        assert response.status_code == 403, factor
        assert error_of(response)["code"] == "factor_not_allowed"
    assert Challenge.objects.get(user=totp.user).failures == 0


def test_remember_device_sets_the_cookie_and_the_next_login_skips_the_challenge(totp):
    api = pending_api(totp.user)
    response = verify(api, code=code_for(totp), remember_device=True)
    assert response.json()["device_remembered"] is True
    assert response.cookies["mfa_device"].value
    assert TrustedDevice.objects.filter(user=totp.user).count() == 1
    with csrf_relaxed(api.client):
        api.client.post("/accounts/logout/")
        from .conftest import password_login

        password_login(api.client, totp.user)
    assert api.get("status").json()["status"] == "AUTHENTICATED"


def test_remember_device_is_ignored_where_the_policy_forbids_it(totp, app_policy):
    app_policy.trusted_devices_enabled = False
    app_policy.save()
    api = pending_api(totp.user)
    response = verify(api, code=code_for(totp), remember_device=True)
    assert response.status_code == 200
    assert response.json()["device_remembered"] is False
    assert not TrustedDevice.objects.exists()


def test_the_ip_limit_on_answers_holds_across_accounts(db, settings):
    settings.MFA_IP_ATTEMPTS_PER_HOUR = 2
    answers = []
    for _attempt in range(3):
        device = TOTPFactorFactory()
        answers.append(verify(pending_api(device.user), code=wrong_code(device)))
    assert [r.status_code for r in answers] == [400, 400, 429]
    assert error_of(answers[2])["code"] == "rate_limited"
    assert int(answers[2]["Retry-After"]) > 0


def test_a_user_who_keeps_guessing_must_wait_across_new_logins(totp, settings):
    settings.MFA_LOCKOUT_DELAY_AFTER = 2
    for _attempt in range(2):
        verify(pending_api(totp.user), code=wrong_code(totp))
    response = verify(pending_api(totp.user), code=code_for(totp))
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert "locked_until" in error_of(response)
    assert int(response["Retry-After"]) == error_of(response)["retry_after"]


def test_a_pending_login_that_must_enroll_has_no_challenge(db):
    from mfa_app.models import Requirement

    from .factories import UserFactory
    from .test_api import set_requirement

    set_requirement(Requirement.REQUIRED)
    api = pending_api(UserFactory())
    response = api.post("challenge")
    assert response.status_code == 401
    assert response.json()["status"] == "MFA_ENROLLMENT_REQUIRED"


def test_cancel_drops_the_pending_login(totp):
    api = pending_api(totp.user)
    assert api.post("cancel").status_code == 204
    assert login_state.PENDING_KEY not in api.client.session
    assert api.post("cancel").status_code == 401


# --- codes sent by SMS, recovery codes, WebAuthn ---------------------------------------------


def test_a_code_is_texted_on_request_and_answers_the_challenge(totp, allow_codes, sms_outbox):
    phone = SMSFactorFactory(user=totp.user, is_primary=False)
    api = pending_api(totp.user)
    response = api.post("challenge", {"factor": "SMS", "device_id": str(phone.pk)})
    assert response.status_code == 202
    body = response.json()
    assert body["sent_to"] == "***-***-2671"
    assert body["device_id"] == str(phone.pk)
    assert body["challenge"]["id"] == challenge_of(api)["id"]
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)
    again = api.post("challenge", {"factor": "SMS", "device_id": str(phone.pk)})
    assert again.status_code == 429
    assert error_of(again)["code"] == "rate_limited"
    assert 0 < int(again["Retry-After"]) <= 30
    assert len(sms_outbox) == 1
    assert verify(api, factor="SMS", code=code).status_code == 200
    assert is_logged_in(api.client)


def test_an_unknown_phone_is_factor_not_found(totp, allow_codes, sms_outbox):
    SMSFactorFactory(user=totp.user, is_primary=False)
    other = SMSFactorFactory(user=TOTPFactorFactory().user)
    api = pending_api(totp.user)
    for device_id in (str(other.pk), "999999", "x"):
        response = api.post("challenge", {"factor": "SMS", "device_id": device_id})
        assert response.status_code == 404
        assert error_of(response)["code"] == "factor_not_found"
    assert sms_outbox == []


def test_a_recovery_code_answers_and_the_last_one_brings_a_new_set(totp):
    from mfa_app import services

    codes = services.regenerate_recovery_codes(totp.user)
    api = pending_api(totp.user)
    assert {"type": "RECOVERY", "primary": False} in challenge_of(api)["factors"]
    response = verify(api, factor="RECOVERY", code=codes[0].lower())
    assert response.status_code == 200
    assert "recovery_codes" not in response.json()
    assert api.get("recovery_codes").json()["remaining"] == 9

    from mfa_app.models import ApplicationPolicy

    policy = ApplicationPolicy.load()
    policy.recovery_codes_count = 1
    policy.save()
    last = services.regenerate_recovery_codes(totp.user)
    api = pending_api(totp.user)
    response = verify(api, factor="RECOVERY", code=last[0])
    assert response.status_code == 200
    new = response.json()["recovery_codes"]
    assert len(new) == 1 and new != last
    assert response["Cache-Control"] == "no-store"
    # A used code is spent.
    again = verify(pending_api(totp.user), factor="RECOVERY", code=last[0])
    assert error_of(again)["code"] == "invalid_code"


def test_a_security_key_answers_the_challenge(user):
    authenticator = SoftwareAuthenticator()
    key = stored_credential(user, authenticator)
    api = pending_api(user)
    prepared = api.post("challenge", {"factor": "WEBAUTHN"})
    assert prepared.status_code == 200
    options = prepared.json()["webauthn_options"]
    assert options["allowCredentials"][0]["id"]
    assertion = json.loads(authenticator.get(options))
    response = verify(api, factor="WEBAUTHN", credential=assertion)
    assert response.status_code == 200, response.content
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert is_logged_in(api.client)


def test_a_replayed_security_key_answer_is_refused(user):
    authenticator = SoftwareAuthenticator()
    stored_credential(user, authenticator)
    api = pending_api(user)
    options = api.post("challenge", {"factor": "WEBAUTHN"}).json()["webauthn_options"]
    assertion = authenticator.get(options)
    bad = verify(api, factor="WEBAUTHN", credential=authenticator.get(options, origin="http://x"))
    assert error_of(bad)["code"] == "invalid_code"
    assert error_of(bad)["attempts_left"] == 4
    # That answer spent the options' challenge: the genuine answer to it is refused too.
    replay = verify(api, factor="WEBAUTHN", credential=assertion)
    assert error_of(replay)["code"] == "invalid_code"
    assert not is_logged_in(api.client)


# --- step-up for signed-in users ------------------------------------------------------------


def test_a_signed_in_user_steps_up_through_the_api(totp):
    totp2 = TOTPFactorFactory(user=totp.user, is_primary=False)
    api = signed_in_api(totp.user)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        refused = api.delete("factor", "TOTP", str(totp2.pk))
        assert refused.status_code == 403
        assert error_of(refused)["code"] == "reauthentication_required"
        opened = api.post("challenge")
        assert opened.status_code == 200
        challenge = opened.json()["challenge"]
        assert challenge["id"] == api.client.session[STEP_UP_KEY]["challenge_id"]
        session_before = api.client.cookies["sessionid"].value
        response = verify(api, challenge_id=challenge["id"], code=code_for(totp, 1))
        assert response.status_code == 200
        assert response.json()["status"] == "AUTHENTICATED"
        assert api.client.cookies["sessionid"].value != session_before
        assert api.delete("factor", "TOTP", str(totp2.pk)).status_code == 204
    assert list(TOTPFactor.objects.filter(user=totp.user)) == [totp]


def test_wrong_step_up_answers_sign_the_session_out(totp):
    api = signed_in_api(totp.user)
    challenge_id = api.post("challenge").json()["challenge"]["id"]
    for left in (4, 3, 2, 1):
        response = verify(api, challenge_id=challenge_id, code=wrong_code(totp))
        assert error_of(response)["attempts_left"] == left
        assert is_logged_in(api.client)
    response = verify(api, challenge_id=challenge_id, code=wrong_code(totp))
    assert error_of(response)["code"] == "locked_out"
    assert not is_logged_in(api.client)


def test_a_new_step_up_challenge_does_not_reset_the_wrong_answers(totp):
    api = signed_in_api(totp.user)
    first = api.post("challenge").json()["challenge"]["id"]
    verify(api, challenge_id=first, code=wrong_code(totp))
    assert api.post("challenge").json()["challenge"]["id"] == first
    assert Challenge.objects.get(pk=first).failures == 1


def test_a_user_without_a_factor_uses_the_password_not_a_challenge(user):
    api = signed_in_api(user)
    response = api.post("challenge")
    assert response.status_code == 403
    assert error_of(response)["code"] == "factor_not_allowed"
