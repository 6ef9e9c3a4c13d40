"""The example site's self-hosted page: plain JavaScript that signs in through the JSON API."""

import pyotp
import pytest

from mfa_app.models import TOTPFactor

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
