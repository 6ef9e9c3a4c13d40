"""mfa_import --from two_factor: django-two-factor-auth's devices, made with its own code.

Runs in its own virtualenv (``make test-two-factor``): the peer pins webauthn<2.99 and
django-phonenumber-field<9.
"""

import base64
import hashlib
import os
import re

import pytest
from django.core.management import CommandError
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from two_factor.plugins.phonenumber.models import PhoneDevice
from two_factor.plugins.webauthn.models import WebauthnDevice
from two_factor.plugins.webauthn.utils import verify_registration_response
from two_factor.utils import default_device

from mfa_app.models import RecoveryCodeSet, SMSFactor, TOTPFactor, WebAuthnCredential
from tests.conftest import password_login
from tests.webauthn_authenticator import ORIGIN, SoftwareAuthenticator, b64

from .helpers import (
    CHALLENGE,
    logout,
    run_import,
    sign_in_with_code,
    sign_in_with_key,
    sign_in_with_passkey,
    signed_in,
    totp_code,
)


def two_factor_totp(user) -> TOTPDevice:
    """The "default" device two-factor-auth's setup wizard saves (a django-otp TOTPDevice)."""
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    assert default_device(user) == device
    return device


def two_factor_key(user, authenticator: SoftwareAuthenticator) -> WebauthnDevice:
    """A key registered through two-factor-auth's own verification, as its form saves it."""
    challenge = b64(os.urandom(32))
    options = {
        "rp": {"id": "testserver", "name": "Test"},
        # two-factor-auth's user entity: the hex SHA-1 of the primary key.
        "user": {
            "id": b64(
                hashlib.sha1(str(user.pk).encode(), usedforsecurity=False).hexdigest().encode()
            )
        },
        "challenge": challenge,
    }
    public_key, key_handle, sign_count = verify_registration_response(
        "testserver", ORIGIN, challenge, authenticator.create(options)
    )
    return WebauthnDevice.objects.create(
        user=user,
        name="Blue key",
        public_key=public_key,
        key_handle=key_handle,
        sign_count=sign_count,
        confirmed=True,
    )


def test_the_default_totp_device_signs_in(client, user):
    device = two_factor_totp(user)
    run_import("two_factor")
    secret = base64.b32encode(device.bin_key).decode()
    assert signed_in(client, sign_in_with_code(client, user, "TOTP", totp_code(secret)))


def test_backup_tokens_sign_in_once_each(client, user):
    two_factor_totp(user)
    backup = StaticDevice.objects.create(user=user, name="backup")
    tokens = [StaticToken.random_token() for _ in range(3)]
    for token in tokens:
        backup.token_set.create(token=token)
    run_import("two_factor")
    assert RecoveryCodeSet.objects.get(user=user).legacy_format == "django_otp"
    assert signed_in(client, sign_in_with_code(client, user, "RECOVERY", tokens[0]))
    logout(client)
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", tokens[0]))


def test_a_text_message_phone_becomes_an_sms_factor_that_signs_in(
    client, user, allow_codes, sms_outbox
):
    PhoneDevice.objects.create(
        user=user, name="default", number="+14155552671", method="sms", confirmed=True
    )
    out = run_import("two_factor")
    assert f"{user.username}: imported SMS x1" in out
    phone = SMSFactor.objects.get(user=user)
    assert str(phone.number) == "+14155552671"
    password_login(client, user)
    client.get(CHALLENGE)
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)
    response = client.post(CHALLENGE, {"factor": "SMS", "device": str(phone.pk), "code": code})
    assert signed_in(client, response)


def test_a_voice_call_phone_is_reported_as_not_supported(user, allow_codes):
    two_factor_totp(user)
    call = PhoneDevice.objects.create(
        user=user, name="backup", number="+14155552671", method="call", confirmed=True
    )
    out = run_import("two_factor")
    assert f"refused phonenumber.phonedevice:{call.pk} 'backup' (SMS): phone method 'call'" in out
    assert not SMSFactor.objects.exists() and not TOTPFactor.objects.exists()


def test_a_policy_without_sms_stops_the_import_of_phones(user):
    PhoneDevice.objects.create(
        user=user, name="default", number="+14155552671", method="sms", confirmed=True
    )
    with pytest.raises(CommandError, match="the application policy does not allow SMS"):
        run_import("two_factor")
    assert not SMSFactor.objects.exists()


def test_a_security_key_signs_in_and_learns_its_backup_flag(client, user):
    authenticator = SoftwareAuthenticator(sign_count=2)
    two_factor_key(user, authenticator)
    run_import("two_factor")
    key = WebAuthnCredential.objects.get(user=user)
    assert key.backup_eligible is None and key.sign_count == 2
    assert signed_in(client, sign_in_with_key(client, user, authenticator))
    key.refresh_from_db()
    assert key.backup_eligible is False and key.sign_count == 3


def test_a_synced_passkey_signs_in_by_the_user_handle_two_factor_gave_it(client, user):
    passkey = SoftwareAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    two_factor_key(user, passkey)
    run_import("two_factor", "--delete-source")
    assert not WebauthnDevice.objects.exists()
    assert signed_in(client, sign_in_with_passkey(client, passkey))
    assert WebAuthnCredential.objects.get(user=user).backup_eligible is True
    page = client.get(reverse("mfa_app:security"))
    assert page.status_code == 200 and "Blue key" in page.content.decode()
