"""Signing in and out: the password step, the challenge, recovery codes, Cancel."""

import pytest

from mfa_app import services

from ..factories import TOTPFactorFactory, UserFactory, code_for
from .helpers import (
    enter_code,
    expect,
    log_in_from_home,
    log_out,
    path_is,
    recovery_codes_on,
    save_recovery_codes,
    submit_login,
)

pytestmark = pytest.mark.e2e


def start_at_private(page, shot, user) -> None:
    """Ask for /private/, get the login page, pass the password: now at the challenge."""
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    shot("login")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    shot("challenge")


def a_wrong_code(device) -> str:
    """Six digits that no step in or near the drift window accepts."""
    near = {code_for(device, offset) for offset in range(-3, 4)}
    return next(code for code in (f"{n:06d}" for n in range(0, 10**6, 111_111)) if code not in near)


def test_log_out_from_the_nav(page, shot):
    user = UserFactory()
    log_in_from_home(page, shot, user)
    expect(page.get_by_text(f"You are signed in as {user.get_username()}")).to_be_visible()
    shot("signed-in")
    log_out(page, shot)
    expect(page.get_by_text("Log in to see multi-factor authentication at work.")).to_be_visible()
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    shot("private-asks-for-login")


def test_sign_in_with_a_totp_code_lands_on_the_page_first_asked_for(page, shot):
    device = TOTPFactorFactory()
    start_at_private(page, shot, device.user)
    # Nothing is open to a pending login: asking for /private/ again leads back here.
    page.goto("/private/")
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/private/"))
    greeting = f"Only signed-in users see this page, {device.user.get_username()}"
    expect(page.get_by_text(greeting)).to_be_visible()
    nav = page.get_by_role("navigation")
    expect(nav.get_by_text(device.user.get_username(), exact=True)).to_be_visible()
    shot("private")


def test_a_wrong_code_shows_the_error_and_attempts_left_then_a_retry_works(page, shot):
    device = TOTPFactorFactory()
    start_at_private(page, shot, device.user)
    enter_code(page, shot, a_wrong_code(device))
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    expect(page.get_by_text("That code is not valid. Check it and try again.")).to_be_visible()
    expect(page.get_by_text("4 attempts left.")).to_be_visible()
    shot("wrong-code")
    enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/private/"))
    expect(page.get_by_role("heading", name="Private page")).to_be_visible()
    shot("private")


def test_sign_in_with_a_recovery_code(page, shot):
    device = TOTPFactorFactory()
    codes = services.recovery_codes_after_enrollment(device.user)
    start_at_private(page, shot, device.user)
    page.get_by_role("link", name="Use a recovery code").click()
    expect(page.get_by_text("Enter one of the recovery codes you saved")).to_be_visible()
    expect(page.get_by_role("link", name="Use a one-time code")).to_be_visible()
    shot("recovery-challenge")
    enter_code(page, shot, codes[3])
    expect(page).to_have_url(path_is("/private/"))
    expect(page.get_by_role("heading", name="Private page")).to_be_visible()
    shot("private")
    assert services.recovery_codes_remaining(device.user) == len(codes) - 1


def test_the_last_recovery_code_shows_a_new_set(page, shot, app_policy):
    app_policy.recovery_codes_count = 1
    app_policy.save()
    device = TOTPFactorFactory()
    (code,) = services.recovery_codes_after_enrollment(device.user)
    start_at_private(page, shot, device.user)
    page.get_by_role("link", name="Use a recovery code").click()
    shot("recovery-challenge")
    enter_code(page, shot, code)
    # Signed in, and the set is renewed on the spot: one new code, shown once.
    (new_code,) = save_recovery_codes(page, shot, count=1)
    assert new_code != code
    expect(page).to_have_url(path_is("/private/"))
    shot("private")
    assert services.recovery_codes_remaining(device.user) == 1
    assert recovery_codes_on(page) == []


def test_cancel_returns_to_the_login_page_and_closes_the_challenge(page, shot):
    device = TOTPFactorFactory()
    start_at_private(page, shot, device.user)
    page.get_by_role("button", name="Cancel and sign in again").click()
    expect(page).to_have_url(path_is("/accounts/login/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot("after-cancel")
    page.goto("/mfa/challenge/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    shot("challenge-closed")
    # The code that would have worked does nothing now: a new sign-in starts from the password.
    submit_login(page, shot, device.user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    shot("challenge-again")
    enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/private/"))
    shot("private")
