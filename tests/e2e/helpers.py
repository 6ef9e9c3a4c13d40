"""What a person does on the example site, in Playwright terms, and the screenshot helper."""

import re
from pathlib import Path

from django.contrib.auth import get_user_model

from ..factories import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the conftest skips (or, in CI, fails) every e2e test and says why
    Page = expect = None


class Screenshots:
    """Numbered full-page screenshots of one test: ``01-login.png``, ``02-challenge.png``, …"""

    def __init__(self, page: "Page", folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    def __call__(self, step: str) -> Path:
        self.count += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path


def login_name(user) -> str:
    """What the user types in the login form's ``username`` field (an email for EmailUser)."""
    return getattr(user, get_user_model().USERNAME_FIELD)


def path_is(path: str) -> re.Pattern:
    """A URL pattern for ``expect(page).to_have_url``: this path, any query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def submit_login(page: "Page", shot: Screenshots, user, password: str = PASSWORD) -> None:
    """On the site's login page: type the username and password, click Log in."""
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.locator('input[name="username"]').fill(login_name(user))
    page.locator('input[name="password"]').fill(password)
    shot("login-filled")
    page.get_by_role("button", name="Log in").click()


def log_in_from_home(page: "Page", shot: Screenshots, user) -> None:
    """Open the home page, follow the nav's Log in link, pass the password step."""
    page.goto("/")
    shot("home")
    page.get_by_role("navigation").get_by_role("link", name="Log in").click()
    expect(page).to_have_url(path_is("/accounts/login/"))
    submit_login(page, shot, user)


def enter_code(page: "Page", shot: Screenshots, code: str, button: str = "Verify") -> None:
    page.get_by_role("textbox", name="Code").fill(code)
    shot("code-filled")
    page.get_by_role("button", name=button).click()


def log_out(page: "Page", shot: Screenshots) -> None:
    """The nav's Log out button (a POST form)."""
    page.get_by_role("navigation").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    shot("logged-out")


def recovery_codes_on(page: "Page") -> list[str]:
    return [code.strip() for code in page.locator("#mfa-codes li code").all_text_contents()]


def save_recovery_codes(page: "Page", shot: Screenshots, count: int) -> list[str]:
    """On the recovery codes page: read the codes, tick "I have saved these codes", continue."""
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = recovery_codes_on(page)
    assert len(codes) == count
    assert len(set(codes)) == count
    shot("recovery-codes")
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Continue").click()
    return codes
