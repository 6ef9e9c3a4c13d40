"""Security keys and passkeys, through Chromium's DevTools virtual authenticators.

A virtual authenticator stands in for a YubiKey (CTAP2 over USB) or a laptop's Touch ID
(CTAP2, "internal": a platform authenticator). It answers ``navigator.credentials`` on its
own, touch included, unless told to wait for a touch that never comes.
"""

import pytest

from mfa_app.models import WebAuthnCredential

from ..factories import UserFactory
from .helpers import (
    expect,
    log_in_from_home,
    log_out,
    path_is,
    save_recovery_codes,
    submit_login,
)

pytestmark = pytest.mark.e2e

ENROLL_PATH = "/mfa/enroll/webauthn/"
ADD_KEY = "Add security key or passkey"
NO_AUTOFILL = (
    "if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = "
    "function () { return Promise.resolve(false); };"
)
USE_KEY = "Use security key or passkey"


class VirtualKey:
    """One virtual authenticator on the page's DevTools session: plug it in, touch it, unplug it.

    Unplugging keeps the key's credentials (private keys and counters included), so plugging
    it back in brings the same key back, as with a real YubiKey.
    """

    def __init__(self, page, transport: str) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.transport = transport
        self.id: str | None = None
        self.saved: list[dict] = []

    def plug_in(self, presence: bool = True) -> "VirtualKey":
        options = {
            "protocol": "ctap2",
            "transport": self.transport,
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": presence,
        }
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})[
            "authenticatorId"
        ]
        for credential in self.saved:
            self.cdp.send(
                "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
            )
        return self

    def unplug(self) -> None:
        self.saved = self.credentials()
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
        self.id = None

    def credentials(self) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def presence(self, on: bool) -> None:
        """Off: the key waits for a touch that never comes (the person walked away)."""
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": self.id, "enabled": on}
        )


def shorten_timeout(page, ms: int) -> None:
    """Lower the ``timeout`` in the page's embedded options, so a missing touch fails fast.

    The virtual authenticator environment lets Chromium take the page's timeout as given
    (real use clamps it to at least 10 s); webauthn.js reads the options when pressed.
    """
    page.evaluate(
        """(ms) => {
            const node = document.getElementById("mfa-webauthn-options");
            const options = JSON.parse(node.textContent);
            options.timeout = ms;
            node.textContent = JSON.stringify(options);
        }""",
        ms,
    )


def message(page, name: str):
    return page.locator(f'[data-webauthn-message="{name}"]')


def open_enrollment(page, shot, supported: bool = True) -> None:
    """From anywhere while signed in: nav's Security link, then the add-a-key button."""
    page.get_by_role("navigation").get_by_role("link", name="Security").click()
    expect(page).to_have_url(path_is("/mfa/security/"))
    shot("security")
    page.get_by_role("link", name="Add security key or passkey").click()
    expect(page).to_have_url(path_is(ENROLL_PATH))
    expect(page.get_by_role("heading", name="Add a security key or passkey")).to_be_visible()
    if supported:
        expect(message(page, "unsupported")).to_be_hidden()
        expect(page.get_by_role("button", name=ADD_KEY)).to_be_enabled()


def add_key(page, shot, name: str) -> None:
    """On the enrollment page: type a name, press the button (the key answers by itself)."""
    page.get_by_label("Name", exact=True).fill(name)
    shot("enroll-filled")
    page.get_by_role("button", name=ADD_KEY).click()


def sign_in_with_key(page, shot, user) -> None:
    """Ask for /private/, pass the password, answer the challenge with a key: at /private/."""
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    to_key_challenge(page, shot)
    page.get_by_role("button", name=USE_KEY).click()
    expect(page).to_have_url(path_is("/private/"))
    expect(page.get_by_role("heading", name="Private page")).to_be_visible()
    shot("private")


def to_key_challenge(page, shot) -> None:
    """At the challenge: the key is the primary factor already, or switch to it."""
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    button = page.get_by_role("button", name=USE_KEY)
    if not button.is_visible():
        shot("challenge-other-factor")
        page.get_by_role("link", name="Use your security key or passkey").click()
    expect(button).to_be_visible()
    expect(page.get_by_text("Use your security key or passkey to confirm")).to_be_visible()
    shot("challenge-key")


def signed_in_fresh(page, shot):
    user = UserFactory()
    log_in_from_home(page, shot, user)
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_text(f"You are signed in as {user.get_username()}")).to_be_visible()
    shot("signed-in")
    return user


def test_add_a_touch_id_key_then_sign_in_with_it(page, shot, app_policy):
    touch_id = VirtualKey(page, "internal").plug_in()
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot)
    shot("enroll")
    add_key(page, shot, "MacBook Touch ID")

    # The first factor: recovery codes first, then back to the security page.
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.locator(".mfa-status")).to_contain_text("On")
    row = page.locator(".mfa-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Passkey")  # a Touch ID key lives in the computer
    expect(row).to_contain_text("MacBook Touch ID")
    expect(row).to_contain_text("never")
    shot("security-on")

    (credential,) = WebAuthnCredential.objects.filter(user=user)
    assert credential.name == "MacBook Touch ID"
    assert credential.transports == ["internal"]
    (on_key,) = touch_id.credentials()
    assert credential.sign_count == on_key["signCount"] == 1
    assert not on_key["isResidentCredential"]  # residentKey "discouraged", box unticked

    log_out(page, shot)
    sign_in_with_key(page, shot, user)
    credential.refresh_from_db()
    assert credential.sign_count == touch_id.credentials()[0]["signCount"] == 2
    assert credential.last_used_at is not None


def test_two_keys_each_signs_in_and_one_key_cannot_be_added_twice(page, shot, app_policy):
    yubikey = VirtualKey(page, "usb").plug_in()
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot)
    add_key(page, shot, "Blue YubiKey")
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    shot("security-one-key")

    # The same key again: excludeCredentials lists it, the browser refuses, the page says so.
    page.get_by_role("link", name="Add security key or passkey").click()
    expect(page).to_have_url(path_is(ENROLL_PATH))
    add_key(page, shot, "Blue YubiKey again")
    expect(message(page, "already-registered")).to_be_visible()
    expect(page).to_have_url(path_is(ENROLL_PATH))
    shot("already-registered")
    assert WebAuthnCredential.objects.filter(user=user).count() == 1
    assert len(yubikey.credentials()) == 1

    # Unplug the YubiKey; the laptop's Touch ID is the only authenticator now.
    yubikey.unplug()
    touch_id = VirtualKey(page, "internal").plug_in()
    page.reload()
    add_key(page, shot, "MacBook Touch ID")
    expect(page).to_have_url(path_is("/mfa/security/"))  # not the first factor: no codes
    rows = page.locator(".mfa-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Blue YubiKey")).to_have_count(1)
    expect(rows.filter(has_text="MacBook Touch ID")).to_have_count(1)
    shot("security-two-keys")

    keys = {c.name: c for c in WebAuthnCredential.objects.filter(user=user)}
    assert set(keys) == {"Blue YubiKey", "MacBook Touch ID"}
    registered = {name: c.sign_count for name, c in keys.items()}
    assert keys["Blue YubiKey"].transports == ["usb"]
    assert keys["MacBook Touch ID"].transports == ["internal"]

    # Sign in with Touch ID (the YubiKey is out)...
    log_out(page, shot)
    sign_in_with_key(page, shot, user)
    # ...then with the YubiKey (Touch ID off, the YubiKey plugged back in).
    log_out(page, shot)
    touch_id.unplug()
    yubikey.plug_in()
    sign_in_with_key(page, shot, user)

    # Each key's counter rose, and the server kept up with it. (The refused second
    # registration may bump the YubiKey's counter too: Chromium probes the exclude list.)
    on_keys = {
        "Blue YubiKey": yubikey.credentials()[0]["signCount"],
        "MacBook Touch ID": touch_id.saved[0]["signCount"],
    }
    for name, credential in keys.items():
        credential.refresh_from_db()
        assert credential.last_used_at is not None
        assert credential.sign_count == on_keys[name] > registered[name]


def test_a_cancelled_ceremony_saves_nothing_then_a_retry_works(page, shot, app_policy):
    key = VirtualKey(page, "usb").plug_in(presence=False)
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot)

    # Nobody touches the key: the browser gives up after the (shortened) timeout.
    shorten_timeout(page, 1_000)
    add_key(page, shot, "Blue YubiKey")
    expect(message(page, "waiting")).to_be_visible()
    shot("waiting")
    expect(message(page, "cancelled")).to_be_visible()
    expect(message(page, "waiting")).to_be_hidden()
    expect(page).to_have_url(path_is(ENROLL_PATH))
    shot("enroll-cancelled")
    assert not WebAuthnCredential.objects.filter(user=user).exists()

    # Touched this time: same page, same button, the challenge still unanswered.
    key.presence(True)
    page.get_by_role("button", name=ADD_KEY).click()
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    assert WebAuthnCredential.objects.filter(user=user, name="Blue YubiKey").exists()

    # At the challenge, too: no touch, cancelled, and the login stays pending.
    log_out(page, shot)
    page.goto("/private/")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    to_key_challenge(page, shot)
    key.presence(False)
    shorten_timeout(page, 1_000)
    page.get_by_role("button", name=USE_KEY).click()
    expect(message(page, "cancelled")).to_be_visible()
    shot("challenge-cancelled")
    page.goto("/private/")
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    shot("still-pending")

    key.presence(True)
    page.get_by_role("button", name=USE_KEY).click()
    expect(page).to_have_url(path_is("/private/"))
    expect(page.get_by_role("heading", name="Private page")).to_be_visible()
    shot("private")


def test_a_browser_without_webauthn_is_told_so(page, shot):
    page.context.add_init_script("delete window.PublicKeyCredential")
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot, supported=False)
    expect(message(page, "unsupported")).to_be_visible()
    expect(page.get_by_text("This browser cannot use security keys or passkeys.")).to_be_visible()
    expect(page.get_by_role("button", name=ADD_KEY)).to_be_disabled()
    expect(message(page, "waiting")).to_be_hidden()
    shot("enroll-unsupported")
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_a_passkey_signs_in_without_a_password(page, shot, app_policy):
    """Register a discoverable credential ("Use as a passkey"), then sign in with it alone."""
    # The button, as in browsers without passkey autofill (Chromium's virtual authenticator
    # would answer the autofill request at once; test_the_login_page_offers_passkeys... does).
    page.context.add_init_script(NO_AUTOFILL)
    VirtualKey(page, "internal").plug_in()
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot)
    page.get_by_label("Use as a passkey (sign in without a password)").check()
    add_key(page, shot, "Phone passkey")
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    log_out(page, shot)

    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    shot("login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(path_is("/private/"))
    expect(
        page.get_by_text(f"Only signed-in users see this page, {user.get_username()}")
    ).to_be_visible()
    shot("private")
    credential = WebAuthnCredential.objects.get(user=user)
    assert credential.last_used_at is not None


def test_the_login_page_hides_passkeys_where_the_browser_cannot_use_them(page, shot):
    page.context.add_init_script("delete window.PublicKeyCredential")
    page.goto("/accounts/login/")
    shot("login-without-webauthn")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    expect(message(page, "unsupported")).to_be_hidden()


def test_the_login_page_offers_passkeys_in_the_username_field(page, shot, app_policy):
    """Passkey autofill (conditional mediation): choosing the passkey is the whole sign-in."""
    key = VirtualKey(page, "internal").plug_in()
    user = signed_in_fresh(page, shot)
    open_enrollment(page, shot)
    page.get_by_label("Use as a passkey (sign in without a password)").check()
    add_key(page, shot, "Phone passkey")
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    log_out(page, shot)
    # No touch yet: the request waits, as a real one waits for the person to pick a passkey.
    key.presence(False)

    page.goto("/accounts/login/?next=/private/")
    username = page.get_by_role("textbox", name="Username")
    expect(username).to_have_attribute("autocomplete", "username webauthn")
    assert page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()")
    # The autofill request waits in the background, without a dialog, for a passkey.
    expect(page.locator("form[data-passkey-login]")).to_have_attribute(
        "data-passkey-autofill", "waiting"
    )
    shot("login-autofill-waiting")
    expect(page).to_have_url(path_is("/accounts/login/"))
    # Chromium's virtual authenticator answers an autofill request at once when touched, as
    # if the person picked the passkey from the list: the passkey alone signs in.
    key.presence(True)
    page.reload()
    expect(page).to_have_url(path_is("/private/"))
    expect(
        page.get_by_text(f"Only signed-in users see this page, {user.get_username()}")
    ).to_be_visible()
    shot("private")
