"""Typing codes in a browser: a wrong code cleared, a typo that costs nothing, the resend
countdown, the nav while signing in, and the re-confirm page (issue 14)."""

import re
import tempfile
from pathlib import Path

import pytest

from mfa_app.models import Challenge, UserState

from ..factories import EmailFactorFactory, SMSFactorFactory, TOTPFactorFactory, code_for
from .helpers import expect, path_is, submit_login
from .test_sign_in import a_wrong_code

pytestmark = pytest.mark.e2e

SHOTS = Path(tempfile.gettempdir()) / "shots"
NUMBER = "+12015551234"


def both_widths(page, name: str) -> None:
    """Save entry-<name>-1280.png and -375.png under SHOTS, to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"entry-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def at_challenge(page, shot, user) -> None:
    page.goto("/private/")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))


def test_a_wrong_code_is_cleared_and_a_typo_costs_no_attempt(page, shot):
    device = TOTPFactorFactory()
    at_challenge(page, shot, device.user)
    nav = page.get_by_role("navigation")
    # Half-way through signing in: the nav says so, and offers no "Log in".
    expect(nav.get_by_role("link", name="Finish signing in")).to_be_visible()
    expect(nav.get_by_role("button", name="Cancel sign-in")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_have_count(0)
    expect(page.get_by_text("Finish within 10 minutes")).to_be_visible()
    code = page.get_by_role("textbox", name="Code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    both_widths(page, "challenge")

    code.fill("12a4")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Enter the 6-digit code, using numbers only.")).to_be_visible()
    assert Challenge.objects.get(user=device.user).failures == 0
    assert not UserState.objects.filter(user=device.user, failed_attempts__gt=0).exists()

    code.fill(a_wrong_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("4 attempts left.")).to_be_visible()
    # Empty and focused for the next try; the error is the field's description.
    expect(code).to_have_value("")
    expect(code).to_be_focused()
    expect(code).to_have_attribute("aria-invalid", "true")
    error_id = code.get_attribute("aria-describedby")
    expect(page.locator(f"#{error_id}")).to_contain_text(re.compile(r"\w"))
    both_widths(page, "wrong-code")
    shot("wrong-code")

    code.fill(code_for(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(path_is("/private/"))
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()


def test_the_nav_cancels_a_pending_sign_in(page, shot):
    device = TOTPFactorFactory()
    at_challenge(page, shot, device.user)
    page.get_by_role("navigation").get_by_role("button", name="Cancel sign-in").click()
    expect(page).to_have_url(path_is("/accounts/login/"))
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    # The sign-in is over: its challenge page no longer opens.
    page.goto("/mfa/challenge/")
    expect(page).to_have_url(path_is("/accounts/login/"))


def test_the_resend_countdown_runs_down_then_resend_works(page, shot, allow_codes, sms_outbox):
    phone = SMSFactorFactory(number=NUMBER)
    page.clock.install()
    at_challenge(page, shot, phone.user)
    expect(page.get_by_text("The code works for 10 minutes.")).to_be_visible()
    page.get_by_role("button", name="Resend code").click()
    status = page.get_by_role("status").filter(has_text="new code")
    expect(status).to_contain_text(re.compile(r"You can ask for a new code in 0:[23]\d\."))
    resend = page.get_by_role("button", name="Resend code")
    expect(resend).to_be_disabled()
    both_widths(page, "resend-countdown")
    shown = page.locator("[data-mfa-clock]").inner_text()
    page.clock.run_for(5000)
    expect(page.locator("[data-mfa-clock]")).not_to_have_text(shown)
    page.clock.run_for(30000)
    expect(status).to_have_text("You can ask for a new code now.")
    expect(resend).to_be_enabled()
    assert len(sms_outbox) == 1


def test_the_reconfirm_page_offers_the_users_own_factors(page, shot, allow_codes, settings):
    device = TOTPFactorFactory()
    SMSFactorFactory(user=device.user, number=NUMBER, is_primary=False)
    EmailFactorFactory(user=device.user, is_primary=False)
    at_challenge(page, shot, device.user)
    page.get_by_role("textbox", name="Code").fill(code_for(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(path_is("/private/"))
    page.goto("/mfa/reauthenticate/")
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_label("Or a code from your authenticator app")).to_be_visible()
    ways = page.get_by_role("list", name="Or confirm with:")
    expect(ways.get_by_role("link", name="Text a code to ***-***-1234")).to_be_visible()
    expect(ways.get_by_role("link", name=re.compile("Email a code to"))).to_be_visible()
    both_widths(page, "reauthenticate")
