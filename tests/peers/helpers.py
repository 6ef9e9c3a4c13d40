"""Running the import and signing in through mfa_app afterwards, for every peer's tests."""

from io import StringIO

import pyotp
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import is_logged_in, password_login

CHALLENGE = reverse("mfa_app:challenge")
PASSKEY = reverse("mfa_app:passkey_login")


def run_import(source: str, *args: str) -> str:
    out = StringIO()
    call_command("mfa_import", "--from", source, *args, stdout=out)
    return out.getvalue()


def sign_in_with_code(client, user, factor: str, code: str):
    """The password, then ``code`` on mfa_app's challenge page as ``factor``."""
    password_login(client, user)
    return client.post(CHALLENGE, {"factor": factor, "code": code})


def signed_in(client, response) -> bool:
    return response.status_code == 302 and is_logged_in(client)


def totp_code(secret_b32: str) -> str:
    return pyotp.TOTP(secret_b32).now()


def sign_in_with_key(client, user, authenticator):
    """The password, then the security key's assertion on the challenge page."""
    password_login(client, user)
    page = client.get(CHALLENGE, {"factor": "WEBAUTHN"})
    assert page.status_code == 200, page.content.decode()[:300]
    assertion = authenticator.get(page.context["webauthn_options"])
    return client.post(CHALLENGE, {"factor": "WEBAUTHN", "code": assertion})


def sign_in_with_passkey(client, authenticator):
    """No password: the passkey alone, found by the browser, names the user by its handle."""
    options = client.get(PASSKEY).json()
    return client.post(PASSKEY, {"code": authenticator.get(options)})


def logout(client) -> None:
    client.logout()
