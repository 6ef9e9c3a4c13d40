"""Right-to-left: the security, enrollment, recovery codes and challenge pages in Arabic.

The page's direction comes from the active language (Django's LANGUAGE_BIDI), so this holds
whatever the catalogs say; the steps find their way by form fields, not by words, which change
with the translation. Codes, secrets and code inputs stay left to right inside the page.
"""

import time

import pyotp
import pytest

from ..factories import PASSWORD, UserFactory
from .helpers import expect, login_name, path_is

pytestmark = pytest.mark.e2e

ARABIC = "ar"


def direction(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).direction")


def assert_right_to_left(page) -> None:
    """The page is ``dir="rtl"`` and laid out that way: the heading starts at the right."""
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", ARABIC)
    assert direction(page.locator("main")) == "rtl"
    card = page.locator(".mfa-card").first.bounding_box()
    heading = page.locator(".mfa-card h1").first
    text = heading.evaluate(
        "h => { const r = document.createRange(); r.selectNodeContents(h);"
        " const b = r.getBoundingClientRect(); return {left: b.left, right: b.right}; }"
    )
    card_right = card["x"] + card["width"]
    assert text["left"] - card["x"] > card_right - text["right"], "the heading starts at the right"


def sign_in_with_password(page, user) -> None:
    page.goto("/accounts/login/")
    page.locator('input[name="username"]').fill(login_name(user))
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[name="password"]').press("Enter")


def test_the_mfa_pages_in_arabic_run_right_to_left_with_codes_left_to_right(page, shot, app_policy):
    user = UserFactory()
    page.goto("/")
    page.locator("#site-language").select_option(ARABIC)
    page.locator("form[data-language-switch] button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    shot("home-ar")

    sign_in_with_password(page, user)
    expect(page).to_have_url(path_is("/"))

    page.goto("/mfa/security/")
    assert_right_to_left(page)
    shot("security-ar")

    page.goto("/mfa/enroll/totp/")
    assert_right_to_left(page)
    code_input = page.locator('input[name="code"]')
    assert direction(code_input) == "ltr"
    secret = page.locator("code.mfa-secret-key[data-secret]")
    assert direction(secret) == "ltr"
    page.locator("details.mfa-secret summary").click()
    expect(secret).to_be_visible()
    shot("enroll-totp-ar")
    totp = pyotp.TOTP(secret.inner_text().strip())
    code_input.fill(totp.now())
    code_input.press("Enter")

    codes = page.locator("#mfa-codes")
    expect(codes).to_be_visible()
    assert_right_to_left(page)
    assert direction(codes) == "ltr"
    assert direction(codes.locator("code").first) == "ltr"
    assert len(codes.locator("code").all()) == app_policy.recovery_codes_count
    shot("recovery-codes-ar")
    page.locator('input[name="saved"]').check()
    page.locator('form:has(input[name="saved"]) button[type="submit"]').click()

    page.locator('nav form[action$="/logout/"] button').click()
    expect(page).to_have_url(path_is("/"))
    sign_in_with_password(page, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    assert_right_to_left(page)
    code_input = page.locator('input[name="code"]')
    assert direction(code_input) == "ltr"
    shot("challenge-ar")
    # The next step's code (within the allowed drift): the enrollment spent this step's.
    code_input.fill(totp.at(time.time() + totp.interval))
    code_input.press("Enter")
    expect(page).to_have_url(path_is("/"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    shot("signed-in-ar")
