"""The security page, the enrollment menu and the buttons as a person sees them, at 1280 and
375 px: every button readable (WCAG AA, 4.5:1) at rest, hovered and focused; row actions on one
line at desktop width and stacked on a phone; the recommended factor marked."""

import re

import pytest

from mfa_app.models import TOTPFactor

from ..factories import SMSFactorFactory, StaffFactory, TOTPFactorFactory, UserFactory, code_for
from .helpers import enter_code, expect, path_is, submit_login

pytestmark = pytest.mark.e2e

WIDE, NARROW = 1280, 375
AA = 4.5

# The contrast of a button's text on its own background: the first opaque background up its
# ancestors, WCAG 2's relative luminance.
CONTRAST_JS = """
element => {
  const parse = c => c.match(/[\\d.]+/g).map(Number);
  const background = node => {
    for (; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const lum = ([r, g, b]) => {
    const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const fg = lum(parse(getComputedStyle(element).color));
  const bg = lum(background(element));
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}
"""


def contrasts(page, selector: str) -> list[tuple[str, str, float]]:
    """Each matching button's (text, state, contrast) at rest, hovered and keyboard-focused."""
    found = []
    for button in page.locator(selector).all():
        if not button.is_visible():
            continue
        name = button.inner_text().strip()
        page.mouse.move(0, 0)
        found.append((name, "rest", button.evaluate(CONTRAST_JS)))
        button.hover()
        found.append((name, "hover", button.evaluate(CONTRAST_JS)))
        page.mouse.move(0, 0)
        button.focus()
        found.append((name, "focus", button.evaluate(CONTRAST_JS)))
        button.evaluate("b => b.blur()")
    return found


def assert_readable(page, selector: str, at_least: int) -> None:
    measured = contrasts(page, selector)
    assert len(measured) >= 3 * at_least, measured
    poor = [m for m in measured if m[2] < AA]
    assert not poor, poor


def sign_in(page, shot, user, device=None) -> None:
    page.goto("/accounts/login/")
    submit_login(page, shot, user)
    if device is not None:
        enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/"))


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_home_pages_log_in_button_is_readable(page, shot, app_policy, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/")
    log_in = page.locator("main").get_by_role("link", name="Log in")
    expect(log_in).to_be_visible()
    shot(f"home-{width}")
    assert_readable(page, "main .mfa-button", at_least=2)
    assert log_in.evaluate(CONTRAST_JS) >= AA


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_add_buttons_of_a_user_without_a_factor_are_readable(page, shot, allow_codes, width):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, shot, UserFactory())
    page.goto("/mfa/security/")
    adds = page.locator("main a.mfa-button-primary")
    expect(adds).to_have_count(4)
    shot(f"security-no-factor-{width}")
    assert_readable(page, "main .mfa-button", at_least=4)
    # Each "Add ..." button carries its factor's icon, hidden from assistive technology.
    assert adds.locator("svg[aria-hidden=true]").count() == 4


def test_the_remove_confirmation_buttons_are_readable(page, shot, allow_codes):
    device = TOTPFactorFactory(name="Work phone")
    sign_in(page, shot, device.user, device)
    page.goto("/mfa/security/")
    page.get_by_role("link", name="Remove Work phone").click()
    expect(page.get_by_role("heading", name="Remove “Work phone”?")).to_be_visible()
    shot("remove-confirmation")
    assert_readable(page, "main .mfa-button", at_least=2)


def security_page_with_factors(page, shot):
    device = TOTPFactorFactory(name="Work phone with a rather long name")
    SMSFactorFactory(user=device.user, name="Travel phone", is_primary=False)
    TOTPFactorFactory(user=device.user, name="Authenticator app", is_primary=False)
    sign_in(page, shot, device.user, device)
    page.goto("/mfa/security/")
    expect(page.locator("table.mfa-factors tbody tr")).to_have_count(3)


def test_row_actions_stay_on_one_line_at_desktop_width(page, shot, allow_codes):
    security_page_with_factors(page, shot)
    shot("security-1280")
    for row in page.locator("table.mfa-factors tbody tr").all():
        actions = row.locator(".mfa-row-actions-list > *")
        tops = {round(a.bounding_box()["y"]) for a in actions.all()}
        assert len(tops) == 1, f"row actions wrapped: {row.inner_text()}"
    assert page.locator(".mfa-table-wrap").first.evaluate("w => w.scrollWidth <= w.clientWidth")
    # A factor named after its kind is named once.
    third = page.locator("table.mfa-factors tbody tr").nth(2).locator("td").first
    assert third.inner_text().count("Authenticator app") == 1


def test_on_a_phone_each_factor_is_a_stacked_card(page, shot, allow_codes):
    page.set_viewport_size({"width": NARROW, "height": 800})
    security_page_with_factors(page, shot)
    shot("security-375")
    rows = page.locator("table.mfa-factors tbody tr")
    assert rows.first.evaluate("tr => getComputedStyle(tr).display") == "block"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for row in rows.all():
        name, actions = row.locator("td").first, row.locator(".mfa-row-actions-list")
        assert actions.bounding_box()["y"] > name.bounding_box()["y"]
        box = row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_enrollment_menu_recommends_a_passkey_where_the_browser_has_webauthn(
    page, shot, allow_codes, width
):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, shot, UserFactory())
    page.goto("/mfa/enroll/")
    recommended = page.locator(".mfa-choice .mfa-badge:visible")
    expect(recommended).to_have_count(1)
    choice = page.locator(".mfa-choice", has=page.locator(".mfa-badge:visible"))
    expect(choice).to_have_attribute("data-factor", "WEBAUTHN")
    shot(f"enroll-menu-{width}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The whole card opens the factor's page.
    box = page.locator(".mfa-choice[data-factor=TOTP] .mfa-choice-description").bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    expect(page).to_have_url(path_is("/mfa/enroll/totp/"))


def test_without_webauthn_the_authenticator_app_is_recommended(page, shot, allow_codes):
    page.add_init_script("delete window.PublicKeyCredential")
    sign_in(page, shot, UserFactory())
    page.goto("/mfa/enroll/")
    recommended = page.locator(".mfa-choice .mfa-badge:visible")
    expect(recommended).to_have_count(1)
    choice = page.locator(".mfa-choice", has=page.locator(".mfa-badge:visible"))
    expect(choice).to_have_attribute("data-factor", "TOTP")
    shot("enroll-menu-no-webauthn")


def test_the_admins_reset_asks_first_and_cancel_changes_nothing(page, shot, allow_codes):
    staff = StaffFactory()
    staff_app = TOTPFactorFactory(user=staff)
    member = TOTPFactorFactory(name="Work phone").user
    sign_in(page, shot, staff, staff_app)
    changelist = f"/admin/{member._meta.app_label}/{member._meta.model_name}/"
    page.goto(changelist)
    page.locator(f'input[name="_selected_action"][value="{member.pk}"]').check()
    page.locator('select[name="action"]').select_option("mfa_reset")
    page.locator("button[name=index]").first.click()
    expect(page.get_by_role("heading", name="Reset MFA?")).to_be_visible()
    expect(page.get_by_text("Authenticator app: Work phone")).to_be_visible()
    shot("reset-confirmation")
    page.get_by_role("link", name="No, take me back").click()
    expect(page).to_have_url(path_is(changelist))
    assert TOTPFactor.objects.filter(user=member).exists()

    page.locator(f'input[name="_selected_action"][value="{member.pk}"]').check()
    page.locator('select[name="action"]').select_option("mfa_reset")
    page.locator("button[name=index]").first.click()
    page.get_by_role("button", name="Yes, reset MFA").click()
    expect(page.get_by_text("Removed the factors and recovery codes of 1 user.")).to_be_visible()
    shot("reset-done")
    assert not TOTPFactor.objects.filter(user=member).exists()


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_a_remembered_browser_is_named_and_its_dates_read_as_words(page, shot, app_policy, width):
    page.set_viewport_size({"width": width, "height": 800})
    device = TOTPFactorFactory(name="Work phone")
    page.goto("/accounts/login/")
    submit_login(page, shot, device.user)
    page.locator('input[name="remember"]').check()
    enter_code(page, shot, code_for(device))
    expect(page).to_have_url(path_is("/"))
    page.goto("/mfa/security/")
    remembered = page.locator("table.mfa-factors").nth(1).locator("tbody tr")
    expect(remembered).to_have_count(1)
    expect(remembered).to_contain_text("Chrome on Linux")  # headless Chromium's user agent
    expect(remembered).not_to_contain_text("Mozilla/5.0")
    until = remembered.locator('td[data-label="Until"] time')
    expect(until).to_have_text(re.compile(r"^in \d+\xa0(days?|weeks?)$"))
    expect(until).to_have_attribute("title", re.compile(r"\d{4}"))
    shot(f"security-remembered-{width}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
