"""mfa_import --from mfa2: django-mfa2's ``User_Keys``, made as django-mfa2 makes them."""

import base64
import json
import os

import pyotp
from django.core import mail
from django.urls import reverse
from fido2.utils import websafe_encode
from fido2.webauthn import AttestationObject
from mfa import recovery
from mfa import totp as mfa2_totp
from mfa.models import User_Keys
from webauthn.helpers import base64url_to_bytes

from mfa_app.models import EmailFactor, ImportedRecord, MFAEvent, RecoveryCodeSet, TOTPFactor
from mfa_app.models import WebAuthnCredential as Key
from tests.webauthn_authenticator import SoftwareAuthenticator, b64

from .helpers import (
    PASSKEY,
    logout,
    run_import,
    sign_in_with_code,
    sign_in_with_key,
    sign_in_with_passkey,
    signed_in,
    totp_code,
)


def mfa2_totp_key(user) -> str:
    secret = pyotp.random_base32()
    User_Keys.objects.create(
        username=user.username, key_type="TOTP", properties={"secret_key": secret}
    )
    return secret


def mfa2_fido2_key(user, authenticator: SoftwareAuthenticator) -> User_Keys:
    """What django-mfa2's ``complete_reg`` stores: fido2's attested credential data, encoded."""
    handle = b64(base64.urlsafe_b64encode(user.username.encode()))
    options = {
        "rp": {"id": "testserver", "name": "Test"},
        "user": {"id": handle, "name": user.username},
        "challenge": b64(os.urandom(32)),
    }
    response = json.loads(authenticator.create(options))["response"]
    attestation = AttestationObject(base64url_to_bytes(response["attestationObject"]))
    return User_Keys.objects.create(
        username=user.username,
        key_type="FIDO2",
        properties={
            "device": websafe_encode(attestation.auth_data.credential_data),
            "type": "none",
        },
    )


def mfa2_recovery_codes(user, rf) -> list[str]:
    request = rf.get("/")
    request.user = user
    return json.loads(recovery.genTokens(request).content)["keys"]


def test_a_totp_app_signs_in_after_the_import(client, user, rf):
    secret = mfa2_totp_key(user)
    request = rf.get("/")
    assert mfa2_totp.verify_login(request, user.username, pyotp.TOTP(secret).now())[0]
    run_import("mfa2")
    assert TOTPFactor.objects.get(user=user).key == secret
    # mfa2 kept no used step: the code it just accepted is refused, the next step's is not.
    assert not signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))


def test_a_totp_app_never_used_at_mfa2_signs_in(client, user):
    secret = mfa2_totp_key(user)
    run_import("mfa2")
    assert signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))


def test_a_security_key_signs_in_with_the_challenge(client, user):
    authenticator = SoftwareAuthenticator(sign_count=3)
    mfa2_fido2_key(user, authenticator)
    out = run_import("mfa2")
    assert f"{user.username}: imported WEBAUTHN x1" in out
    key = Key.objects.get(user=user)
    assert key.backup_eligible is None  # never stored by mfa2
    assert signed_in(client, sign_in_with_key(client, user, authenticator))
    key.refresh_from_db()
    assert key.backup_eligible is False and key.sign_count == 4


def test_a_synced_passkey_is_learned_at_first_use_not_refused(client, user):
    passkey = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    mfa2_fido2_key(user, passkey)
    run_import("mfa2")
    key = Key.objects.get(user=user)
    # mfa2's user handle, the URL-safe base64 of the username, is what the passkey returns.
    assert bytes(key.user_handle) == base64.urlsafe_b64encode(user.username.encode())
    assert signed_in(client, sign_in_with_passkey(client, passkey))
    key.refresh_from_db()
    assert key.backup_eligible is True and key.backed_up is True
    logout(client)
    # Learned once, fixed since: the same credential claiming otherwise is refused (WA-08).
    passkey.backed_up = False  # BS without BE would be junk, not a changed flag
    options = client.get(PASSKEY).json()
    assert not signed_in(client, client.post(PASSKEY, {"code": passkey.get(options, be=False)}))
    refused = MFAEvent.objects.get(user=user, kind="failed")
    assert refused.details["reason"] == "backup_eligibility_changed"


def test_recovery_codes_cannot_be_carried_and_the_user_is_told(
    client, user, rf, django_capture_on_commit_callbacks
):
    secret = mfa2_totp_key(user)
    codes = mfa2_recovery_codes(user, rf)
    with django_capture_on_commit_callbacks(execute=True):
        out = run_import("mfa2")
    assert "not carried" in out and "one-way hashed recovery codes" in out
    assert f"{user.username}: imported TOTP x1" in out
    assert not RecoveryCodeSet.objects.filter(user=user).exists()
    assert ImportedRecord.objects.get(user=user, factor_type="RECOVERY").outcome == "not_carried"
    [email] = [m for m in mail.outbox if "make a new set of recovery codes" in m.subject]
    assert "could not be moved" in email.body
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", codes[0]))
    logout(client)
    assert signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))
    page = client.get(reverse("mfa_app:security")).content.decode()
    assert "could not be moved and no longer work" in page
    # The hashed codes are no import: --delete-source leaves them be.
    run_import("mfa2", "--delete-source")
    assert User_Keys.objects.filter(key_type="RECOVERY").exists()
    assert not User_Keys.objects.filter(key_type="TOTP").exists()


def test_email_codes_become_an_email_factor(user, allow_codes):
    User_Keys.objects.create(username=user.username, key_type="Email", properties={})
    run_import("mfa2")
    assert EmailFactor.objects.get(user=user).email == user.email


def test_a_fido2_key_for_another_server_id_is_refused(settings, user):
    settings.FIDO_SERVER_ID = "elsewhere.example"
    stored = mfa2_fido2_key(user, SoftwareAuthenticator())
    out = run_import("mfa2")
    assert f"refused mfa.user_keys:{stored.pk} 'Security key' (WEBAUTHN)" in out
    assert "made for RP ID 'elsewhere.example'" in out
    assert not Key.objects.exists()


def test_trusted_devices_and_disabled_keys_are_left_out(user):
    User_Keys.objects.create(
        username=user.username, key_type="TOTP", properties={"secret_key": "A" * 32}, enabled=False
    )
    out = run_import("mfa2")
    assert f"{user.username}: nothing new to import" in out
    assert not TOTPFactor.objects.exists()
