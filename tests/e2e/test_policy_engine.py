"""In Chromium: remember this device, forget it again, and postponing enrollment."""

import tempfile
from pathlib import Path

import pytest

from mfa_app.models import Requirement

from ..factories import TOTPFactorFactory, UserFactory, code_for
from .helpers import enter_code, expect, log_out, path_is, submit_login

pytestmark = pytest.mark.e2e

SHOTS = Path(tempfile.gettempdir()) / "shots"


def review_shot(page, name: str, width: int = 1280) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 800})
    page.screenshot(path=str(SHOTS / f"engine-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_remembered_browser_skips_the_challenge_until_it_is_forgotten(page, shot):
    device = TOTPFactorFactory()
    page.goto("/private/")
    submit_login(page, shot, device.user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    box = page.get_by_label("Remember this device for 30 days")
    expect(box).not_to_be_checked()
    box.check()
    review_shot(page, "challenge-remember")
    enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/private/"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "mfa_device")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    log_out(page, shot)
    page.goto("/private/")
    submit_login(page, shot, device.user)
    # No challenge this time.
    expect(page).to_have_url(path_is("/private/"))

    page.goto("/mfa/security/")
    expect(page.get_by_role("heading", name="Remembered devices")).to_be_visible()
    expect(page.get_by_text("this browser", exact=True)).to_be_visible()
    review_shot(page, "security-devices")
    review_shot(page, "security-devices-360", width=360)
    page.get_by_role("button", name="Forget all devices").click()
    expect(page.get_by_text("1 device will be asked for a second step again.")).to_be_visible()

    log_out(page, shot)
    page.goto("/private/")
    submit_login(page, shot, device.user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))


def test_a_required_user_postpones_enrollment_within_the_grace_period(page, shot, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.grace_period_days = 7
    app_policy.save()
    user = UserFactory()
    page.goto("/private/")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/enroll/"))
    later = page.get_by_role("button", name="Set up later (7 days left)")
    expect(later).to_be_visible()
    review_shot(page, "enroll-later")
    later.click()
    expect(page).to_have_url(path_is("/private/"))
