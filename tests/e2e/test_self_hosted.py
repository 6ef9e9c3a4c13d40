"""The example site's self-hosted page: plain JavaScript that signs in through the JSON API."""

import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from django.utils import timezone

from mfa_app import services
from mfa_app.models import TOTPFactor, UserState

from ..factories import PASSWORD, TOTPFactorFactory, UserFactory, code_for
from .helpers import expect, login_name
from .test_sign_in import a_wrong_code

pytestmark = pytest.mark.e2e


def sign_in(page, shot, user) -> None:
    page.goto("/app/")
    expect(page.get_by_role("heading", name="Sign in (self-hosted page)")).to_be_visible()
    page.get_by_label("Username").fill(login_name(user))
    page.get_by_label("Password").fill(PASSWORD)
    shot("self-hosted-login")
    page.get_by_role("button", name="Sign in").click()


def test_enroll_an_authenticator_app_then_pass_a_challenge_through_the_api(page, shot, app_policy):
    app_policy.requirement = "REQUIRED"
    app_policy.save()
    user = UserFactory()
    sign_in(page, shot, user)

    # The API said MFA_ENROLLMENT_REQUIRED: the page asks the API for a secret and a QR code.
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator(".sh-secret").inner_text()
    shot("self-hosted-enroll")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    assert page.locator(".mfa-codes code").count() == 10
    shot("self-hosted-recovery-codes")
    page.get_by_role("button", name="I saved my codes").click()
    expect(page.get_by_text(f"You are signed in as {user.get_username()}.")).to_be_visible()
    expect(page.locator(".sh-factors li")).to_have_count(1)
    shot("self-hosted-signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in (self-hosted page)")).to_be_visible()

    # Next time: the password, then the challenge the API describes.
    device = TOTPFactor.objects.get(user=user)
    sign_in(page, shot, user)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    page.get_by_label("Code").fill(code_for(device, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"You are signed in as {user.get_username()}.")).to_be_visible()


def test_a_wrong_code_is_explained_and_the_right_one_then_passes(page, shot):
    device = TOTPFactorFactory()
    sign_in(page, shot, device.user)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    shot("self-hosted-challenge")

    page.get_by_label("Code").fill(a_wrong_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("tries left")
    # Cleared for the next try.
    expect(page.get_by_label("Code")).to_have_value("")
    expect(page.get_by_label("Code")).to_be_focused()
    shot("self-hosted-wrong-code")
    # A reload keeps the half-finished login: the page asks the API where it stands.
    page.reload()
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()

    page.get_by_label("Code").fill(code_for(device))
    page.get_by_label("Remember this device").check()
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"You are signed in as {device.user.get_username()}.")).to_be_visible()
    assert any(c["name"] == "mfa_device" for c in page.context.cookies())


def test_a_wrong_password_changes_nothing(page, shot):
    user = UserFactory()
    page.goto("/app/")
    page.get_by_label("Username").fill(login_name(user))
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    shot("self-hosted-wrong-password")


SHOTS = Path(tempfile.gettempdir()) / "shots"


def both_widths(page, name: str) -> None:
    """Save self-hosted-<name>-1280.png and -375.png under SHOTS, to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"self-hosted-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_code_field_the_other_ways_and_cancel(page, shot):
    device = TOTPFactorFactory()
    services.recovery_codes_after_enrollment(device.user)
    sign_in(page, shot, device.user)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    code = page.get_by_label("Code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    # The other way is a link-styled button of mfa.css, not the browser's grey box.
    other = page.get_by_role("button", name="Use Recovery code")
    styles = other.evaluate(
        "b => { const s = getComputedStyle(b); "
        "return [s.backgroundColor, s.color, s.borderTopStyle, s.textDecorationLine]; }"
    )
    assert styles == ["rgba(0, 0, 0, 0)", "rgb(9, 105, 218)", "none", "underline"]
    both_widths(page, "challenge")

    other.click()
    expect(page.get_by_text("Enter one of your recovery codes.")).to_be_visible()
    # Recovery codes have letters: no number pad.
    expect(page.get_by_label("Code")).not_to_have_attribute("inputmode", "numeric")

    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Sign in (self-hosted page)")).to_be_visible()
    # The server dropped the half-finished login: a reload does not bring the challenge back.
    page.reload()
    expect(page.get_by_role("heading", name="Sign in (self-hosted page)")).to_be_visible()


def test_after_too_many_wrong_codes_the_wait_is_shown(page, shot):
    device = TOTPFactorFactory()
    sign_in(page, shot, device.user)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    # Earlier wrong codes made this user wait (the lockout's growing delays).
    UserState.objects.update_or_create(
        user=device.user,
        defaults={"failed_attempts": 6, "locked_until": timezone.now() + timedelta(seconds=45)},
    )
    page.clock.install()
    page.get_by_label("Code").fill(code_for(device))
    page.get_by_role("button", name="Verify").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"Try again in 0:4\d\."))
    verify = page.get_by_role("button", name="Verify")
    expect(verify).to_be_disabled()
    both_widths(page, "wait")
    page.clock.run_for(50_000)
    expect(alert).to_contain_text("You can try again now.")
    expect(verify).to_be_enabled()
