"""TD-03: a remembered browser stops skipping the challenge when trust must end.

Each test remembers a browser through a real challenge with "remember" ticked, changes the
user's MFA the way a person would (the security page, the JSON API, the challenge page, the
admin), then signs in again from that browser: it is challenged (no ``trusted_device``).
"""

import pytest
from django.test import Client
from django.urls import reverse

from mfa_app import services
from mfa_app.models import MFAEvent, Requirement, TOTPFactor, TrustedDevice

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import StaffFactory, TOTPFactorFactory, code_for
from .test_admin_policy_engine import run_action
from .test_api import Api, csrf_relaxed, set_requirement
from .test_policy_engine import CHALLENGE, last_decision, log_out, sign_in


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


@pytest.fixture
def spare(device):
    """A second authenticator app, so that one can be removed under any policy."""
    return TOTPFactorFactory(user=device.user, name="Old phone", is_primary=False)


def revocations(user) -> list[dict]:
    return [
        e.details for e in MFAEvent.objects.filter(user=user, kind="device_revoked").order_by("id")
    ]


def is_challenged_again(browser: Client, user) -> bool:
    """The browser's next password login is challenged, and not waved through as trusted."""
    password_login(browser, user)
    reasons = last_decision(user)["reasons"]
    return not is_logged_in(browser) and "trusted_device" not in reasons


def remembered_browser(device, step: int = 0) -> Client:
    """A browser that signed in with "remember this device" ticked, then signed out."""
    browser = Client()
    sign_in(browser, device, remember=True, step=step)
    log_out(browser)
    password_login(browser, device.user)
    assert is_logged_in(browser)
    assert last_decision(device.user)["reasons"] == ["trusted_device"]
    log_out(browser)
    return browser


def recovery_sign_in(browser: Client, user, code: str, *, remember: bool = False) -> None:
    password_login(browser, user)
    data = {"factor": "RECOVERY", "code": code, **({"remember": "1"} if remember else {})}
    assert browser.post(CHALLENGE, data).status_code == 302
    assert is_logged_in(browser)


# --- removing a factor ----------------------------------------------------------------------


def test_removing_a_factor_on_the_security_page_ends_every_remembered_browser(
    client, device, spare
):
    elsewhere = remembered_browser(device, step=-1)
    sign_in(client, device, remember=True)
    response = client.post(reverse("mfa_app:remove_factor", args=["TOTP", spare.pk]))
    assert response.status_code == 302
    assert not TOTPFactor.objects.filter(pk=spare.pk).exists()
    assert revocations(device.user) == [{"count": 2, "reason": "factor_removed"}]
    log_out(client)
    assert is_challenged_again(client, device.user)
    assert is_challenged_again(elsewhere, device.user)
    assert last_decision(device.user)["reasons"] == ["factor_enrolled"]


def test_removing_a_factor_through_the_api_ends_trust(device, spare):
    api = Api()
    with csrf_relaxed(api.client):
        sign_in(api.client, device, remember=True)
    assert api.delete("factor", "TOTP", str(spare.pk)).status_code == 204
    with csrf_relaxed(api.client):
        log_out(api.client)
        assert is_challenged_again(api.client, device.user)


def test_a_refused_removal_leaves_the_remembered_browser_trusted(client, device):
    set_requirement(Requirement.REQUIRED)
    sign_in(client, device, remember=True)
    response = client.post(reverse("mfa_app:remove_factor", args=["TOTP", device.pk]))
    assert TOTPFactor.objects.filter(pk=device.pk).exists()
    assert response.status_code in (200, 302)
    assert revocations(device.user) == []
    log_out(client)
    password_login(client, device.user)
    assert is_logged_in(client)


# --- recovery codes -------------------------------------------------------------------------


def test_signing_in_with_a_recovery_code_ends_every_remembered_browser(device):
    codes = services.recovery_codes_after_enrollment(device.user)
    remembered = remembered_browser(device)
    recovery_sign_in(Client(), device.user, codes[0])
    assert revocations(device.user) == [{"count": 1, "reason": "recovery_code_used"}]
    assert is_challenged_again(remembered, device.user)


def test_a_recovery_code_revokes_the_browsers_still_remembered_and_no_other(device):
    codes = services.recovery_codes_after_enrollment(device.user)
    remembered_browser(device)
    still = remembered_browser(device, step=1)
    older = services.trusted_devices(device.user).last()
    services.revoke_devices(device.user, older.pk)
    older.refresh_from_db()
    recovery_sign_in(Client(), device.user, codes[0])
    assert revocations(device.user)[-1] == {"count": 1, "reason": "recovery_code_used"}
    assert TrustedDevice.objects.get(pk=older.pk).revoked_at == older.revoked_at
    assert is_challenged_again(still, device.user)


def test_a_recovery_code_with_remember_ticked_trusts_only_the_browser_it_just_proved(device):
    """The code proves the new browser; every browser remembered before it is revoked."""
    codes = services.recovery_codes_after_enrollment(device.user)
    remembered = remembered_browser(device)
    finder = Client()
    recovery_sign_in(finder, device.user, codes[0], remember=True)
    assert services.trusted_devices(device.user).count() == 1
    log_out(finder)
    password_login(finder, device.user)
    assert is_logged_in(finder)
    assert last_decision(device.user)["reasons"] == ["trusted_device"]
    assert is_challenged_again(remembered, device.user)


def test_a_wrong_recovery_code_revokes_nothing(device):
    services.recovery_codes_after_enrollment(device.user)
    remembered = remembered_browser(device)
    guesser = Client()
    password_login(guesser, device.user)
    guesser.post(CHALLENGE, {"factor": "RECOVERY", "code": "AAAA-BBBB-CCCC-DDDD"})
    assert not is_logged_in(guesser)
    assert revocations(device.user) == []
    password_login(remembered, device.user)
    assert is_logged_in(remembered)


def test_regenerating_recovery_codes_ends_every_remembered_browser(client, device):
    services.recovery_codes_after_enrollment(device.user)
    sign_in(client, device, remember=True)
    response = client.post(reverse("mfa_app:regenerate_recovery_codes"))
    assert response.status_code == 200
    assert revocations(device.user) == [{"count": 1, "reason": "recovery_codes_generated"}]
    log_out(client)
    assert is_challenged_again(client, device.user)


def test_regenerating_through_the_api_ends_trust(device):
    api = Api()
    with csrf_relaxed(api.client):
        sign_in(api.client, device, remember=True)
    assert api.post("recovery_codes").status_code == 201
    with csrf_relaxed(api.client):
        log_out(api.client)
        assert is_challenged_again(api.client, device.user)


# --- MFA reset ------------------------------------------------------------------------------


def test_a_reset_from_the_admin_ends_trust_even_for_the_factor_enrolled_after(device):
    remembered = remembered_browser(device)
    staff = StaffFactory()
    admin = Client()
    sign_in_with_mfa(admin, staff)
    run_action(admin, "mfa_reset", [device.user], mfa_reset_confirm="yes")
    assert revocations(device.user) == [{"count": 1, "reason": "reset"}]
    assert MFAEvent.objects.get(kind="device_revoked").actor == staff.get_username()
    # The user enrolls again: the browser remembered before the reset does not skip it.
    TOTPFactorFactory(user=device.user)
    assert is_challenged_again(remembered, device.user)
    assert last_decision(device.user)["reasons"] == ["factor_enrolled"]


def test_a_new_code_keeps_working_after_the_revocation(client, device, spare):
    """Revoking trust does not get in the way of signing in with a factor."""
    sign_in(client, device, remember=True)
    client.post(reverse("mfa_app:remove_factor", args=["TOTP", spare.pk]))
    log_out(client)
    password_login(client, device.user)
    client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(device, 1)})
    assert is_logged_in(client)
