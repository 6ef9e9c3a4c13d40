"""The passkey offer after a password sign-in, in Chromium: Not now, then Create a passkey."""

import pytest

from ..factories import UserFactory
from .helpers import expect, path_is, submit_login

pytestmark = pytest.mark.e2e


@pytest.fixture
def offer_on(settings, app_policy):
    settings.MFA_PASSKEY_OFFER = True


def test_the_offer_comes_once_after_sign_in_and_not_now_goes_on(page, shot, offer_on):
    user = UserFactory()
    page.goto("/private/")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/passkey/offer/"))
    expect(page.get_by_role("heading", name="Sign in faster with a passkey")).to_be_visible()
    expect(page.get_by_role("link", name="Create a passkey")).to_be_visible()
    shot("offer")
    page.get_by_role("button", name="Not now").click()
    expect(page).to_have_url(path_is("/private/"))
    shot("private")


def test_create_a_passkey_leads_to_adding_one(page, shot, offer_on):
    user = UserFactory()
    page.goto("/accounts/login/")
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/passkey/offer/"))
    shot("offer")
    page.get_by_role("link", name="Create a passkey").click()
    expect(page).to_have_url(path_is("/mfa/enroll/webauthn/"))
    shot("enroll")
