"""Turning two-step verification on, from the security page and right after sign-up."""

import re
import time

import pyotp
import pytest
from django.contrib.auth import get_user_model

from mfa_app.models import Requirement, TOTPFactor

from ..factories import UserFactory
from .helpers import (
    enter_code,
    expect,
    log_in_from_home,
    log_out,
    path_is,
    save_recovery_codes,
    submit_login,
)

pytestmark = pytest.mark.e2e

ENROLLMENT = re.compile(r"^https?://[^/]+/mfa/enroll/(totp/)?$")


def read_secret(page, shot) -> str:
    """On the TOTP enrollment page: open "Can't scan it?" and read the key shown there."""
    secret = page.locator("code.mfa-secret-key[data-secret]")
    expect(secret).to_be_hidden()
    page.get_by_text("Can't scan it?").click()
    expect(secret).to_be_visible()
    shot("secret-shown")
    return secret.inner_text().strip()


def test_enroll_totp_from_the_security_page_then_sign_in_with_it(page, shot, app_policy):
    user = UserFactory()
    log_in_from_home(page, shot, user)
    # No factor and an OPTIONAL policy: no challenge, straight home.
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_text(f"You are signed in as {user.get_username()}")).to_be_visible()
    shot("signed-in")

    page.get_by_role("navigation").get_by_role("link", name="Security").click()
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.get_by_text("You have not added a factor yet.")).to_be_visible()
    shot("security-off")

    page.get_by_role("link", name="Add authenticator app").click()
    expect(page).to_have_url(path_is("/mfa/enroll/totp/"))
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.locator(".mfa-qr-box svg")).to_be_visible()
    shot("enroll-totp")
    secret = read_secret(page, shot)
    totp = pyotp.TOTP(secret)
    enter_code(page, shot, totp.now(), button="Confirm and turn on")

    codes = save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.locator(".mfa-status")).to_contain_text("On")
    expect(page.get_by_text(f"{len(codes)} unused codes left.")).to_be_visible()
    shot("security-on")
    assert [d.key for d in TOTPFactor.objects.filter(user=user, confirmed=True)] == [secret]

    # The new factor works: log out, sign in again, answer with the app's next code (the
    # code just used cannot be replayed within its 30 s step).
    log_out(page, shot)
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    shot("challenge")
    enter_code(page, shot, totp.at(time.time() + 30))
    expect(page).to_have_url(path_is("/private/"))
    expect(page.get_by_role("heading", name="Private page")).to_be_visible()
    shot("private")


def fill_signup(page, username: str, email: str, password: str) -> None:
    """The sign-up form asks for a username and an email, or only an email (EmailUser)."""
    username_field = page.locator('input[name="username"]')
    if username_field.count():
        username_field.fill(username)
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password1"]').fill(password)
    page.locator('input[name="password2"]').fill(password)


def test_required_enrollment_right_after_sign_up(page, shot, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.save()

    page.goto("/")
    shot("home")
    page.get_by_role("navigation").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(path_is("/accounts/signup/"))
    fill_signup(page, "newcomer", "newcomer@example.com", "a-long-e2e-passphrase-4821")
    shot("signup-filled")
    page.get_by_role("button", name="Sign up").click()

    # Signed up and logged in, but REQUIRED: sent to enrollment, and the pending login can
    # open nothing else. (Were several factors offered, a chooser would come first.)
    expect(page).to_have_url(ENROLLMENT)
    landing = page.url
    page.goto("/private/")
    expect(page).to_have_url(landing)
    if not landing.endswith("/totp/"):
        shot("enroll-choose")
        page.get_by_role("link", name="Authenticator app", exact=True).click()
    expect(page).to_have_url(path_is("/mfa/enroll/totp/"))
    expect(page.get_by_text("Your account needs two-step verification")).to_be_visible()
    shot("enroll-totp")

    secret = read_secret(page, shot)
    enter_code(page, shot, pyotp.TOTP(secret).now(), button="Confirm and turn on")
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    expect(page).to_have_url(path_is("/"))
    user = get_user_model().objects.get(email="newcomer@example.com")
    expect(page.get_by_text(f"You are signed in as {user.get_username()}")).to_be_visible()
    shot("signed-in")
    assert TOTPFactor.objects.filter(user=user, confirmed=True).exists()
