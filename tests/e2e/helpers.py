"""What a person does on the example site, in Playwright terms, and the screenshot helper."""

import re
from pathlib import Path

from django.contrib.auth import get_user_model

from ..factories import PASSWORD

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the conftest skips (or, in CI, fails) every e2e test and says why
    Page = expect = None


# axe-core's rules run at both widths on every page state a test screenshots; a serious or
# critical violation (colour contrast included) fails the test. ``best-practice`` is left out:
# its rules are advice, not WCAG.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = ("serious", "critical")
WIDTHS = (1280, 375)
# Django's own admin markup and CSS (change-form checkboxes, breadcrumb links), not mfa_app's:
# the two rules it fails are left to Django; the admin pages are checked for every other rule.
DJANGO_ADMIN_SKIPS = {"target-size": {"enabled": False}, "link-in-text-block": {"enabled": False}}
AXE_RUN = """async ([tags, rules]) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, rules: rules,
                                           resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary)
  }));
}"""
# A page state is its URL and a hash of its markup without the CSRF token, which differs per
# session: the same page reached again, in this test or a later one in this process (the login
# page in nearly every test), is neither screenshotted at 375 px nor checked again.
PAGE_STATE = """() => { let h = 0;
  const s = document.documentElement.outerHTML.replace(
    /name="csrfmiddlewaretoken" value="[^"]*"/g, "");
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h; }"""
_checked: set[tuple[str, int]] = set()


class Screenshots:
    """Numbered full-page screenshots of one test at 1280 and 375 px: ``01-login.png``,
    ``01-login-375.png``, … Each new page state is also checked with axe-core at both widths
    (a state already checked in this process gets the 1280 px screenshot only).
    """

    def __init__(self, page: "Page", folder: Path, axe_script: Path | None = None) -> None:
        self.page = page
        self.folder = folder
        self.count = 0
        self.axe_script = axe_script
        self.violations: list[str] = []

    def __call__(self, step: str) -> Path:
        self.count += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        self.check(f"{self.count:02d}-{name}")
        return path

    def watch(self) -> None:
        """Have the browser load axe.min.js into every page of this context as it opens: sent
        to Chromium once, instead of through DevTools at every page state checked."""
        if self.axe_script is not None:
            self.page.context.add_init_script(path=str(self.axe_script))

    def check(self, label: str) -> None:
        """axe at 1280 and 375 px (once per page state), and the 375 px screenshot."""
        state = self._state()
        if self.axe_script is None or state is None or state in _checked:
            return
        _checked.add(state)
        viewport = self.page.viewport_size or {"width": WIDTHS[0], "height": 800}
        try:
            for width in WIDTHS:
                if width != viewport["width"]:
                    self.page.set_viewport_size({"width": width, "height": viewport["height"]})
                    shot = self.folder / f"{label}-{width}.png"
                    self.folder.mkdir(parents=True, exist_ok=True)
                    self.page.screenshot(path=str(shot), full_page=True)
                self._axe(label, width)
        finally:
            self.page.set_viewport_size(viewport)
        if self.violations:
            raise AssertionError(
                "axe-core found serious or critical violations:\n" + "\n".join(self.violations)
            )

    def _state(self) -> tuple[str, int] | None:
        try:
            html_hash = self.page.evaluate(PAGE_STATE)
        except Exception:  # the page is gone, or not HTML
            return None
        return self.page.url, html_hash

    def _axe(self, label: str, width: int) -> None:
        # Normally there already (``watch``); a page opened by other means gets it here.
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(self.axe_script))
        rules = DJANGO_ADMIN_SKIPS if "/admin/" in self.page.url else {}
        for violation in self.page.evaluate(AXE_RUN, [AXE_TAGS, rules]):
            if violation["impact"] in FAILING_IMPACTS:
                where = "\n      ".join(violation["targets"])
                self.violations.append(
                    f"  {label} at {width}px, {self.page.url}: [{violation['impact']}] "
                    f"{violation['id']}: {violation['help']}\n      {where}"
                )


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
