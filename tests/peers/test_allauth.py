"""mfa_import --from allauth: allauth.mfa's authenticators, made with allauth's own code."""

import json
import os

import time_machine
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.core import mail

from mfa_app.models import MFAEvent, RecoveryCodeSet, TOTPFactor, WebAuthnCredential
from tests.factories import UserFactory
from tests.webauthn_authenticator import SoftwareAuthenticator, b64

from .helpers import (
    logout,
    run_import,
    sign_in_with_code,
    sign_in_with_key,
    sign_in_with_passkey,
    signed_in,
    totp_code,
)


def allauth_key(user, authenticator: SoftwareAuthenticator, *, rp_id: str = "testserver"):
    """A key registered through allauth: its user entity, the browser's JSON it stores."""
    entity = get_adapter().get_public_key_credential_user_entity(user)
    options = {
        "rp": {"id": rp_id, "name": "Test"},
        "user": {"id": b64(entity["id"]), "name": entity["name"]},
        "challenge": b64(os.urandom(32)),
    }
    credential = json.loads(authenticator.create(options))
    added = WebAuthn.add(user, "Blue key", credential)
    # allauth reads back what it stored: the same credential.
    assert added.authenticator_data.credential_data.credential_id == authenticator.credential_id
    return added.instance


def test_a_totp_app_signs_in_after_the_import(client, user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    out = run_import("allauth")
    assert f"{user.username}: imported TOTP x1" in out
    assert TOTPFactor.objects.get(user=user).key == secret
    assert signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))


def test_a_code_used_at_allauth_just_before_the_import_stays_refused(client, user):
    secret = generate_totp_secret()
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        totp = TOTP.activate(user, secret)
        code = totp_code(secret)
        assert totp.validate_code(code)
        totp.instance.record_usage()
        run_import("allauth")
        assert not signed_in(client, sign_in_with_code(client, user, "TOTP", code))
        logout(client)
        traveller.shift(60)
        assert signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))


def test_the_unused_recovery_codes_sign_in_once_each(
    client, user, django_capture_on_commit_callbacks
):
    TOTP.activate(user, generate_totp_secret())
    codes = RecoveryCodes.activate(user)
    every = codes.get_unused_codes()
    assert codes.validate_code(every[0])  # used at allauth
    with django_capture_on_commit_callbacks(execute=True):
        out = run_import("allauth")
    assert "imported TOTP x1, recovery codes x1" in out
    code_set = RecoveryCodeSet.objects.get(user=user)
    assert code_set.legacy_format == "allauth" and code_set.codes.count() == len(every) - 1

    assert signed_in(client, sign_in_with_code(client, user, "RECOVERY", every[1]))
    logout(client)
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", every[1]))
    logout(client)
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", every[0]))
    assert any("make a new set of recovery codes" in m.subject for m in mail.outbox)


def test_a_security_key_signs_in_with_its_counter_and_flags(client, user):
    authenticator = SoftwareAuthenticator(sign_count=5)
    allauth_key(user, authenticator)
    out = run_import("allauth")
    assert f"{user.username}: imported WEBAUTHN x1" in out
    key = WebAuthnCredential.objects.get(user=user)
    assert bytes(key.credential_id) == authenticator.credential_id
    assert key.sign_count == 5 and key.backup_eligible is False
    assert key.transports == ["usb", "nfc"] and key.name == "Blue key"
    assert signed_in(client, sign_in_with_key(client, user, authenticator))
    key.refresh_from_db()
    assert key.sign_count == 6


def test_a_synced_passkey_signs_in_alone_by_its_user_handle(client, user):
    passkey = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    allauth_key(user, passkey)
    run_import("allauth")
    key = WebAuthnCredential.objects.get(user=user)
    # allauth's user handle: the primary key as a string, kept so the passkey finds the user.
    assert bytes(key.user_handle) == str(user.pk).encode()
    assert key.backup_eligible is True and key.backed_up is True
    assert signed_in(client, sign_in_with_passkey(client, passkey))
    assert MFAEvent.objects.filter(user=user, kind="verified", factor_type="WEBAUTHN").exists()


def test_a_key_made_for_another_rp_id_is_refused(user):
    TOTP.activate(user, generate_totp_secret())
    stored = allauth_key(user, SoftwareAuthenticator(), rp_id="elsewhere.example")
    out = run_import("allauth")
    assert f"refused mfa.authenticator:{stored.pk} 'Blue key' (WEBAUTHN): made for RP ID" in out
    assert "this site's is 'testserver'" in out
    assert not TOTPFactor.objects.exists() and not WebAuthnCredential.objects.exists()


def test_unreadable_data_is_refused_with_a_clear_line(user):
    broken = Authenticator.objects.create(user=user, type="webauthn", data={"name": "x"})
    out = run_import("allauth")
    assert (
        f"refused mfa.authenticator:{broken.pk} 'webauthn' (?): unreadable data (KeyError)" in out
    )


def test_delete_source_removes_the_imported_authenticators(user):
    TOTP.activate(user, generate_totp_secret())
    RecoveryCodes.activate(user)
    run_import("allauth", "--delete-source")
    assert not Authenticator.objects.exists()
    assert TOTPFactor.objects.filter(user=user).exists()
    assert RecoveryCodeSet.objects.filter(user=user).exists()


def test_running_twice_changes_nothing(user):
    TOTP.activate(user, generate_totp_secret())
    allauth_key(user, SoftwareAuthenticator())
    run_import("allauth")
    out = run_import("allauth")
    assert "imported 0 factor(s)" in out and "refused" not in out
    assert WebAuthnCredential.objects.count() == 1 and TOTPFactor.objects.count() == 1


def test_one_credential_stored_for_two_users_goes_to_the_first_only(user):
    """allauth does not keep credential ids unique; here one credential names one account."""
    other = UserFactory()
    authenticator = SoftwareAuthenticator()
    allauth_key(user, authenticator)
    twin = allauth_key(other, authenticator)
    out = run_import("allauth")
    assert f"refused mfa.authenticator:{twin.pk} 'Blue key' (WEBAUTHN): " in out
    assert "this credential is already registered here" in out
    assert list(WebAuthnCredential.objects.values_list("user", flat=True)) == [user.pk]
