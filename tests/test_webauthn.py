"""WebAuthn: registration and sign-in with a software authenticator, and each way to tamper."""

import json
import os
import time

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse
from webauthn.helpers import base64url_to_bytes

from mfa_app import errors, services
from mfa_app.checks import check_webauthn
from mfa_app.factors import get_factor
from mfa_app.factors import webauthn as webauthn_factor
from mfa_app.models import Challenge, MFAEvent, Requirement, WebAuthnCredential

from .conftest import is_logged_in, password_login
from .factories import TOTPFactorFactory, UserFactory, code_for
from .webauthn_authenticator import SoftwareAuthenticator, b64, stored_credential

ENROLL = reverse("mfa_app:enroll_webauthn")
CHALLENGE = reverse("mfa_app:challenge")
SECURITY = reverse("mfa_app:security")
NOT_VERIFIED = "could not be verified"
NOT_READ = "could not be read"
NOT_YOURS = "not registered to your account"
SPENT = "expired or was already used"


@pytest.fixture
def authenticator():
    return SoftwareAuthenticator()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)  # no factor yet: fully signed in, and just now
    return client


@pytest.fixture
def key(user, authenticator):
    return stored_credential(user, authenticator)


@pytest.fixture
def session_request(rf):
    request = rf.get("/")
    request.session = SessionStore()
    return request


def html(response) -> str:
    return response.content.decode()


def registration_options(client, **extra) -> dict:
    page = client.get(ENROLL, **extra)
    assert page.status_code == 200
    return page.context["webauthn_options"]


def register(client, authenticator, name="Blue YubiKey", **tamper):
    options = registration_options(client)
    credential = authenticator.create(options, **tamper)
    return client.post(ENROLL, {"name": name, "credential": credential})


def begin_sign_in(client, user) -> dict:
    password_login(client, user)
    page = client.get(CHALLENGE, {"factor": "WEBAUTHN"})
    assert page.status_code == 200
    return page.context["webauthn_options"]


def answer(client, assertion):
    return client.post(CHALLENGE, {"factor": "WEBAUTHN", "code": assertion})


def retry(client, authenticator, refused):
    """Answer the fresh challenge on the page that refused the last answer."""
    return answer(client, authenticator.get(refused.context["webauthn_options"]))


def untouched(key) -> bool:
    key.refresh_from_db()
    return key.last_used_at is None and key.last_challenge == ""


# --- registration ---------------------------------------------------------------------------


def test_the_enrollment_page_embeds_options_whose_challenge_stays_on_the_server(signed_in, user):
    page = signed_in.get(ENROLL)
    options = page.context["webauthn_options"]
    assert options["rp"] == {"id": "testserver", "name": "testserver"}
    assert options["user"]["name"] == user.get_username()
    assert len(base64url_to_bytes(options["user"]["id"])) == 32  # random, not the pk
    assert len(base64url_to_bytes(options["challenge"])) >= 16
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []
    assert signed_in.session["_mfa_webauthn_register"]["challenge"] == options["challenge"]
    assert 'id="mfa-webauthn-options"' in html(page) and "mfa_app/webauthn.js" in html(page)
    assert page["Cache-Control"] == "no-store"
    assert registration_options(signed_in)["challenge"] != options["challenge"]


def test_a_registration_stores_the_credential_and_shows_recovery_codes(signed_in, user):
    authenticator = SoftwareAuthenticator(
        sign_count=7, backup_eligible=True, backed_up=True, transports=("internal", "hybrid")
    )
    response = register(signed_in, authenticator, name="MacBook Touch ID")
    assert response.status_code == 200
    assert "Save your recovery codes" in html(response)
    key = WebAuthnCredential.objects.get(user=user)
    assert bytes(key.credential_id) == authenticator.credential_id
    assert bytes(key.public_key) == authenticator.cose_public_key()
    assert key.sign_count == 7
    assert key.transports == ["internal", "hybrid"]
    assert key.aaguid == "ee882879-721c-4913-9775-3dfcce97072a"
    assert key.backup_eligible and key.backed_up
    assert key.name == "MacBook Touch ID" and key.confirmed and key.is_primary
    assert bytes(key.user_handle) == authenticator.user_handle
    assert key.created_at is not None and key.last_used_at is None
    assert MFAEvent.objects.filter(user=user, kind="enrolled", factor_type="WEBAUTHN").exists()
    assert "_mfa_webauthn_register" not in signed_in.session


def test_an_unnamed_key_gets_the_factors_label(signed_in, user, authenticator):
    register(signed_in, authenticator, name="  ")
    assert WebAuthnCredential.objects.get(user=user).name == "Security key or passkey"


def test_a_pending_login_that_must_enroll_is_signed_in_by_registering_a_key(
    client, user, app_policy, authenticator
):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.save()
    password_login(client, user)
    assert not is_logged_in(client)
    assert ENROLL in html(client.get(reverse("mfa_app:enroll")))
    response = register(client, authenticator)
    assert "Save your recovery codes" in html(response)
    assert is_logged_in(client)


def test_a_user_may_hold_two_keys_and_the_first_is_excluded_from_the_second(signed_in, user):
    first, second = SoftwareAuthenticator(), SoftwareAuthenticator(transports=("internal",))
    register(signed_in, first, name="YubiKey")
    options = registration_options(signed_in)
    assert options["excludeCredentials"] == [
        {"id": b64(first.credential_id), "type": "public-key", "transports": ["usb", "nfc"]}
    ]
    assert base64url_to_bytes(options["user"]["id"]) == first.user_handle  # one handle per user
    response = signed_in.post(ENROLL, {"name": "MacBook", "credential": second.create(options)})
    assert response["Location"] == SECURITY  # recovery codes were shown the first time only
    keys = WebAuthnCredential.objects.filter(user=user).order_by("pk")
    assert [(k.name, k.is_primary) for k in keys] == [("YubiKey", True), ("MacBook", False)]
    page = html(signed_in.get(SECURITY))
    assert "YubiKey" in page and "MacBook" in page
    assert reverse("mfa_app:remove_factor", args=["WEBAUTHN", keys[1].pk]) in page


REGISTRATION_TAMPERING = {
    "wrong challenge": {"challenge": b64(b"\x00" * 64)},
    "wrong origin": {"origin": "https://evil.example"},
    "wrong port": {"origin": "http://testserver:8000"},
    "wrong RP ID hash": {"rp_id": "evil.example"},
    "wrong ceremony": {"kind": "webauthn.get"},
    "no user presence": {"up": False},
}


@pytest.mark.parametrize(
    "tamper", REGISTRATION_TAMPERING.values(), ids=REGISTRATION_TAMPERING.keys()
)
def test_a_tampered_registration_is_refused_and_stores_nothing(signed_in, authenticator, tamper):
    response = register(signed_in, authenticator, **tamper)
    assert response.status_code == 400
    assert NOT_VERIFIED in html(response)
    assert not WebAuthnCredential.objects.exists()
    assert not MFAEvent.objects.filter(kind="enrolled").exists()


MALFORMED = ["not json", "null", "[]", "{}", '{"id": 1}', "[" * 5000, "x" * (64 * 1024 + 1)]


@pytest.mark.parametrize("junk", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_registration_gets_a_clear_error(signed_in, junk):
    registration_options(signed_in)
    response = signed_in.post(ENROLL, {"credential": junk})
    assert response.status_code == 400
    assert NOT_READ in html(response)
    assert not WebAuthnCredential.objects.exists()


def test_garbage_inside_well_formed_json_is_refused(signed_in, authenticator):
    options = registration_options(signed_in)
    data = json.loads(authenticator.create(options))
    data["response"]["attestationObject"] = "bm90IGNib3I"
    response = signed_in.post(ENROLL, {"credential": json.dumps(data)})
    assert response.status_code == 400
    assert NOT_VERIFIED in html(response)
    assert not WebAuthnCredential.objects.exists()


def test_a_credential_id_registered_to_anyone_cannot_be_registered_again(signed_in, user):
    taken = SoftwareAuthenticator()
    stored_credential(UserFactory(), taken)
    response = register(signed_in, SoftwareAuthenticator(credential_id=taken.credential_id))
    assert response.status_code == 400
    assert "already registered" in html(response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_a_credential_id_longer_than_1023_bytes_is_refused(signed_in):
    response = register(signed_in, SoftwareAuthenticator(credential_id=os.urandom(1024)))
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_a_registration_challenge_answers_once(signed_in, user):
    options = registration_options(signed_in)
    assert signed_in.post(ENROLL, {"credential": SoftwareAuthenticator().create(options)})
    again = signed_in.post(ENROLL, {"credential": SoftwareAuthenticator().create(options)})
    assert again.status_code == 400
    assert SPENT in html(again)
    assert WebAuthnCredential.objects.filter(user=user).count() == 1


def test_a_failed_registration_spends_its_challenge_too(signed_in):
    options = registration_options(signed_in)
    bad = SoftwareAuthenticator().create(options, origin="https://evil.example")
    assert signed_in.post(ENROLL, {"credential": bad}).status_code == 400
    late = signed_in.post(ENROLL, {"credential": SoftwareAuthenticator().create(options)})
    assert late.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_a_registration_challenge_is_bound_to_its_user_and_expires(session_request, user):
    options = webauthn_factor.registration_options(user, session_request)
    with pytest.raises(errors.InvalidCode, match=SPENT):
        webauthn_factor.check_registration(
            UserFactory(), session_request, SoftwareAuthenticator().create(options)
        )
    with time_machine.travel(time.time(), tick=False) as clock:
        options = webauthn_factor.registration_options(user, session_request)
        clock.shift(601)
        with pytest.raises(errors.InvalidCode, match=SPENT):
            webauthn_factor.check_registration(
                user, session_request, SoftwareAuthenticator().create(options)
            )


def test_an_authentication_challenge_cannot_answer_a_registration(session_request, key, user):
    options = get_factor("WEBAUTHN").begin_challenge(user, session_request)["webauthn_options"]
    create_options = {**options, "rp": {"id": "testserver"}, "user": {"id": b64(b"u")}}
    with pytest.raises(errors.InvalidCode, match=SPENT):
        webauthn_factor.check_registration(
            user, session_request, SoftwareAuthenticator().create(create_options)
        )


def test_without_javascript_the_page_says_so_and_an_empty_answer_is_explained(signed_in):
    page = html(signed_in.get(ENROLL))
    assert "<noscript>" in page and "need JavaScript" in page
    response = signed_in.post(ENROLL, {"name": "Key"})
    assert response.status_code == 400
    assert "Use your security key or passkey first" in html(response)


def test_the_enrollment_form_needs_csrf(signed_in, csrf_client, authenticator):
    options = registration_options(signed_in)
    csrf_client.cookies = signed_in.cookies
    response = csrf_client.post(ENROLL, {"credential": authenticator.create(options)})
    assert response.status_code == 403
    assert not WebAuthnCredential.objects.exists()


# --- relying party settings and checks ------------------------------------------------------


def test_the_rp_id_defaults_to_the_host_without_its_port(client, user):
    client.force_login(user)
    options = registration_options(client, HTTP_HOST="localhost:8000")
    assert options["rp"]["id"] == "localhost"
    answer_ = SoftwareAuthenticator().create(options, origin="http://localhost:8000")
    response = client.post(ENROLL, {"credential": answer_}, HTTP_HOST="localhost:8000")
    assert response.status_code == 200
    assert WebAuthnCredential.objects.filter(user=user).exists()


def test_configured_rp_id_name_and_origins_are_used(settings, signed_in, user):
    settings.MFA_WEBAUTHN_RP_ID = "example.com"
    settings.MFA_WEBAUTHN_RP_NAME = "Example"
    settings.MFA_WEBAUTHN_ORIGINS = ["https://login.example.com"]
    options = registration_options(signed_in)
    assert options["rp"] == {"id": "example.com", "name": "Example"}
    refused = signed_in.post(ENROLL, {"credential": SoftwareAuthenticator().create(options)})
    assert refused.status_code == 400  # the request's own origin is not a configured one
    options = refused.context["webauthn_options"]
    answer_ = SoftwareAuthenticator().create(options, origin="https://login.example.com")
    assert signed_in.post(ENROLL, {"credential": answer_}).status_code == 200
    assert WebAuthnCredential.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    "origins",
    [["https://example.com"], ["https://login.example.com", "http://EXAMPLE.com:8000"], None],
)
def test_origins_on_the_rp_id_domain_raise_no_check(settings, origins):
    settings.MFA_WEBAUTHN_RP_ID = "example.com"
    settings.MFA_WEBAUTHN_ORIGINS = origins
    assert check_webauthn() == []


@pytest.mark.parametrize(
    "origin",
    ["https://example.org", "https://notexample.com", "https://example.com.evil.io", "example.com"],
)
def test_e006_explains_an_origin_outside_the_rp_id(settings, origin):
    settings.MFA_WEBAUTHN_RP_ID = "example.com"
    settings.MFA_WEBAUTHN_ORIGINS = ["https://example.com", origin]
    (message,) = check_webauthn()
    assert message.id == "mfa_app.E006"
    assert repr(origin) in message.msg and "subdomain" in message.msg
    assert "MFA_WEBAUTHN_RP_ID" in message.hint


@pytest.mark.parametrize("rp_id", ["https://example.com", "example.com:443"])
def test_e006_fires_for_an_rp_id_written_as_an_origin(settings, rp_id):
    settings.MFA_WEBAUTHN_RP_ID = rp_id
    settings.MFA_WEBAUTHN_ORIGINS = "https://example.com"
    assert [m.id for m in check_webauthn()] == ["mfa_app.E006"]


def test_e007_names_the_allowed_user_verification_values(settings):
    settings.MFA_WEBAUTHN_USER_VERIFICATION = "always"
    (message,) = check_webauthn()
    assert message.id == "mfa_app.E007" and "required, preferred, discouraged" in message.msg


# --- sign-in --------------------------------------------------------------------------------


def test_the_challenge_offers_a_security_key_to_users_who_have_one(client, user, authenticator):
    TOTPFactorFactory(user=user)
    stored_credential(user, authenticator, is_primary=False)
    password_login(client, user)
    page = html(client.get(CHALLENGE))
    assert "Use your security key or passkey" in page and "?factor=WEBAUTHN" in page
    key_page = client.get(CHALLENGE, {"factor": "WEBAUTHN"})
    assert 'data-webauthn="get"' in html(key_page) and 'name="code"' in html(key_page)
    options = key_page.context["webauthn_options"]
    assert options["rpId"] == "testserver"
    assert options["allowCredentials"] == [
        {"id": b64(authenticator.credential_id), "type": "public-key", "transports": ["usb", "nfc"]}
    ]
    assert client.session["_mfa_webauthn_authenticate"]["challenge"] == options["challenge"]


def test_users_without_a_key_are_not_offered_one(client, db):
    password_login(client, TOTPFactorFactory().user)
    assert "security key" not in html(client.get(CHALLENGE)).lower()


def test_a_security_key_passes_the_challenge(client, user, key, authenticator):
    password_login(client, user)
    page = client.get(CHALLENGE)  # the key is the primary factor: no switch needed
    before = client.session.session_key
    response = answer(client, authenticator.get(page.context["webauthn_options"]))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert is_logged_in(client) and client.session.session_key != before
    key.refresh_from_db()
    assert key.sign_count == 1 and key.last_used_at is not None
    assert MFAEvent.objects.filter(user=user, kind="verified", factor_type="WEBAUTHN").exists()
    assert client.session["otp_device_id"] == key.persistent_id


def test_a_synced_passkey_whose_counter_stays_at_zero_signs_in_again_and_again(client, user):
    passkey = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    key = stored_credential(user, passkey)
    for _ in range(2):
        assert answer(client, passkey.get(begin_sign_in(client, user))).status_code == 302
        client.logout()
    key.refresh_from_db()
    assert key.sign_count == 0 and key.last_used_at is not None


def test_an_unknown_backup_flag_is_learned_at_first_use_then_fixed(client, user):
    """An imported credential whose old package never stored the flag (mfa_import): NULL."""
    passkey = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    key = stored_credential(user, passkey, backup_eligible=None)
    assert answer(client, passkey.get(begin_sign_in(client, user))).status_code == 302
    key.refresh_from_db()
    assert key.backup_eligible is True
    client.logout()
    passkey.backed_up = False  # a flag set BS without BE would be junk, not a changed flag
    refused = answer(client, passkey.get(begin_sign_in(client, user), be=False))
    assert refused.status_code == 400 and not is_logged_in(client)
    assert MFAEvent.objects.get(user=user, kind="failed").details["reason"] == (
        "backup_eligibility_changed"
    )


ASSERTION_TAMPERING = {
    "wrong challenge": ({"challenge": b64(b"\x01" * 64)}, NOT_VERIFIED),
    "wrong origin": ({"origin": "https://evil.example"}, NOT_VERIFIED),
    "wrong port": ({"origin": "http://testserver:8000"}, NOT_VERIFIED),
    "wrong RP ID hash": ({"rp_id": "evil.example"}, NOT_VERIFIED),
    "wrong ceremony": ({"kind": "webauthn.create"}, NOT_VERIFIED),
    "no user presence": ({"up": False}, NOT_VERIFIED),
    "bad signature": ({"signing_key": ec.generate_private_key(ec.SECP256R1())}, NOT_VERIFIED),
    "backup eligibility changed": ({"be": True}, NOT_VERIFIED),
    "another user handle": ({"user_handle": b"someone else"}, NOT_YOURS),
}


@pytest.mark.parametrize(
    ("tamper", "message"), ASSERTION_TAMPERING.values(), ids=ASSERTION_TAMPERING.keys()
)
def test_a_tampered_assertion_is_refused_and_spends_nothing(
    client, user, key, authenticator, tamper, message
):
    response = answer(client, authenticator.get(begin_sign_in(client, user), **tamper))
    assert response.status_code == 400
    assert message in html(response) and "4 attempts left" in html(response)
    assert not is_logged_in(client)
    assert untouched(key) and key.sign_count == 0
    challenge = Challenge.objects.get(user=user)
    assert challenge.verified_at is None and challenge.failures == 1
    assert MFAEvent.objects.get(user=user, kind="failed").details["reason"]
    # The page offers a fresh challenge, which a genuine answer passes.
    assert retry(client, authenticator, response).status_code == 302


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [({"be": True}, "backup_eligibility_changed"), ({"user_handle": b"x"}, "user_handle_mismatch")],
)
def test_our_own_checks_say_why_in_the_audit_log(client, user, key, authenticator, tamper, reason):
    answer(client, authenticator.get(begin_sign_in(client, user), **tamper))
    assert MFAEvent.objects.get(user=user, kind="failed").details["reason"] == reason


def test_a_key_registered_to_another_user_cannot_answer(client, user, key):
    stranger = SoftwareAuthenticator()
    theirs = stored_credential(UserFactory(), stranger)
    response = answer(client, stranger.get(begin_sign_in(client, user)))
    assert response.status_code == 400 and NOT_YOURS in html(response)
    assert not is_logged_in(client)
    assert untouched(theirs) and untouched(key)


@pytest.mark.parametrize("junk", MALFORMED[:-1], ids=range(len(MALFORMED) - 1))
def test_a_malformed_assertion_gets_a_clear_error(client, user, key, junk):
    begin_sign_in(client, user)
    response = answer(client, junk)
    assert response.status_code == 400 and NOT_READ in html(response)
    assert not is_logged_in(client) and untouched(key)


def test_an_empty_answer_is_explained_and_not_counted(client, user, key):
    begin_sign_in(client, user)
    response = answer(client, "")
    assert response.status_code == 400
    assert "Use your security key or passkey first" in html(response)
    assert Challenge.objects.get(user=user).failures == 0


def test_a_replayed_assertion_is_refused(client, user, key, authenticator):
    assertion = authenticator.get(begin_sign_in(client, user))
    assert answer(client, assertion).status_code == 302
    attacker = Client()
    begin_sign_in(attacker, user)
    response = answer(attacker, assertion)
    assert response.status_code == 400
    assert not is_logged_in(attacker)
    key.refresh_from_db()
    assert key.sign_count == 1


@pytest.mark.parametrize("counter_step", [1, 0], ids=["counter", "synced passkey"])
def test_an_assertion_answers_once_even_if_its_challenge_is_still_in_a_session(
    session_request, user, counter_step
):
    """A second request that read the session before the first one spent the challenge."""
    authenticator = SoftwareAuthenticator(counter_step=counter_step)
    key = stored_credential(user, authenticator)
    factor = get_factor("WEBAUTHN")
    options = factor.begin_challenge(user, session_request)["webauthn_options"]
    copy = dict(session_request.session.items())
    assertion = authenticator.get(options)
    assert factor.verify_answer(user, assertion, session_request) == key
    session_request.session.update(copy)
    with pytest.raises(errors.InvalidCode) as refused:
        factor.verify_answer(user, assertion, session_request)
    assert refused.value.extra["reason"] == "replayed"


@pytest.mark.parametrize("counter_step", [1, 0], ids=["counter", "synced passkey"])
def test_of_two_interleaved_requests_with_one_assertion_only_the_first_to_write_wins(
    monkeypatch, rf, user, counter_step
):
    """Both read the key before either writes: the conditional UPDATE picks one winner."""
    authenticator = SoftwareAuthenticator(counter_step=counter_step)
    key = stored_credential(user, authenticator)
    factor = get_factor("WEBAUTHN")
    first, second = rf.post("/"), rf.post("/")
    first.session = SessionStore()
    options = factor.begin_challenge(user, first)["webauthn_options"]
    second.session = SessionStore()
    second.session.update(dict(first.session.items()))
    assertion = authenticator.get(options)
    check, inner = webauthn_factor._check_assertion, []

    def interleaved(*args):
        verified = check(*args)
        if not inner:  # the second request runs to completion between read and write
            inner.append(None)
            inner[0] = factor.verify_answer(user, assertion, second)
        return verified

    monkeypatch.setattr(webauthn_factor, "_check_assertion", interleaved)
    with pytest.raises(errors.InvalidCode) as refused:
        factor.verify_answer(user, assertion, first)
    assert refused.value.extra["reason"] == "replayed"
    assert inner == [key]
    key.refresh_from_db()
    assert key.sign_count == counter_step


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counter_step", [1, 0], ids=["counter", "synced passkey"])
def test_concurrent_requests_with_one_assertion_let_exactly_one_win(counter_step):
    from .test_races_postgres import race

    user = UserFactory()
    authenticator = SoftwareAuthenticator(counter_step=counter_step)
    key = stored_credential(user, authenticator)
    factor = get_factor("WEBAUTHN")
    request = RequestFactory().post("/")
    request.session = SessionStore()
    options = factor.begin_challenge(user, request)["webauthn_options"]
    stored, assertion = dict(request.session.items()), authenticator.get(options)

    def attempt():
        # Every request read the same session, so each still finds the challenge.
        concurrent = RequestFactory().post("/")
        concurrent.session = SessionStore()
        concurrent.session.update(stored)
        return factor.verify_answer(user, assertion, concurrent)

    outcomes = race(20, attempt)
    assert outcomes.successes == [key]
    assert [e.extra["reason"] for e in outcomes.errors] == ["replayed"] * 19
    key.refresh_from_db()
    assert key.sign_count == counter_step


@pytest.mark.parametrize("received", [5, 10], ids=["went back", "did not rise"])
def test_a_sign_count_that_does_not_rise_is_refused_and_flagged_as_a_possible_clone(
    client, user, received
):
    authenticator = SoftwareAuthenticator(sign_count=10)
    key = stored_credential(user, authenticator)
    response = answer(client, authenticator.get(begin_sign_in(client, user), sign_count=received))
    assert response.status_code == 400
    assert "counter went backwards" in html(response)
    assert not is_logged_in(client)
    assert untouched(key) and key.sign_count == 10
    event = MFAEvent.objects.get(user=user, kind="failed")
    assert event.factor_type == "WEBAUTHN"
    assert event.details["possible_clone"] is True
    assert event.details["stored_sign_count"] == 10
    assert event.details["received_sign_count"] == received
    assert event.details["credential"] == key.pk


def test_a_forged_assertion_with_a_low_counter_is_not_taken_for_a_clone(client, user):
    authenticator = SoftwareAuthenticator(sign_count=10)
    stored_credential(user, authenticator)
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = authenticator.get(begin_sign_in(client, user), sign_count=3, signing_key=stranger)
    response = answer(client, forged)
    assert response.status_code == 400 and NOT_VERIFIED in html(response)
    assert "possible_clone" not in MFAEvent.objects.get(user=user, kind="failed").details


def test_user_verification_can_be_required(settings, client, user, key, authenticator):
    settings.MFA_WEBAUTHN_USER_VERIFICATION = "required"
    options = begin_sign_in(client, user)
    assert options["userVerification"] == "required"
    response = answer(client, authenticator.get(options, uv=False))
    assert response.status_code == 400 and untouched(key)
    assert retry(client, authenticator, response).status_code == 302


def test_bad_answers_count_toward_the_lockout(settings, client, user, key, authenticator):
    settings.MFA_MAX_ATTEMPTS = 2
    begin_sign_in(client, user)
    assert answer(client, "junk").status_code == 400
    assert answer(client, "junk")["Location"] == reverse("login")
    assert not is_logged_in(client)


def test_the_python_api_without_a_request_refuses_an_assertion(user, key, authenticator):
    challenge = services.start_challenge(user)
    options = {"rpId": "testserver", "challenge": b64(os.urandom(32))}
    with pytest.raises(errors.InvalidCode, match=SPENT):
        services.verify_challenge(user, challenge.pk, "WEBAUTHN", authenticator.get(options))
    assert untouched(key)
    assert get_factor("WEBAUTHN").verify(user, authenticator.get(options)) is None
    assert not services.check_identity(user, code="123456")


def test_a_signed_in_user_sees_the_key_on_the_security_page_and_can_remove_it(
    client, user, key, authenticator
):
    services.recovery_codes_after_enrollment(user)
    answer(client, authenticator.get(begin_sign_in(client, user)))
    page = html(client.get(SECURITY))
    assert '<span class="mfa-help">Security key</span>' in page and "YubiKey" in page
    remove = reverse("mfa_app:remove_factor", args=["WEBAUTHN", key.pk])
    assert client.post(remove)["Location"] == SECURITY
    assert not WebAuthnCredential.objects.filter(pk=key.pk).exists()


# --- policy ---------------------------------------------------------------------------------


def test_a_policy_without_webauthn_neither_offers_nor_accepts_it(
    client, user, authenticator, app_policy
):
    totp = TOTPFactorFactory(user=user)
    stored_credential(user, authenticator, is_primary=False)
    app_policy.allowed_factors = ["TOTP"]
    app_policy.save()
    password_login(client, user)
    assert "security key" not in html(client.get(CHALLENGE)).lower()
    assert client.get(CHALLENGE, {"factor": "WEBAUTHN"}).context["factor_type"] == "TOTP"
    options = {"rpId": "testserver", "challenge": b64(os.urandom(32))}
    assert answer(client, authenticator.get(options)).status_code == 400
    assert not is_logged_in(client)
    with pytest.raises(errors.FactorNotAllowed):
        services.begin_challenge(user, "WEBAUTHN", client.get(CHALLENGE).wsgi_request)

    client.post(CHALLENGE, {"code": code_for(totp)})
    assert is_logged_in(client)
    assert client.get(ENROLL).status_code == 404
    assert client.post(ENROLL, {"credential": "{}"}).status_code == 404
    assert ENROLL not in html(client.get(SECURITY))
