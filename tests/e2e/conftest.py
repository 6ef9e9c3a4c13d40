"""End-to-end tests: the example site served by ``live_server``, driven in headless Chromium.

They need Debian's Chromium at /usr/bin/chromium and the ``playwright`` package. Without
either, every e2e test is skipped and one line at the end of the run says why, unless
``MFA_REQUIRE_CHROMIUM=1`` (CI), where they fail instead, so a CI run cannot pass by
silently skipping them.
"""

import os
import shutil
from pathlib import Path

import pytest

from .helpers import Screenshots

CHROMIUM = "/usr/bin/chromium"
# Flags for this machine's closed network (see the environment notes): no background
# connections, no component updates, no sync; and never a browser download of our own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# axe-core from npm (tests/e2e/package.json; `npm ci` in tests/e2e, which `make test` runs).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 10_000
REQUIRED = os.environ.get("MFA_REQUIRE_CHROMIUM") == "1"


def _missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (Debian package: apt-get install chromium)"
    if not AXE.is_file():
        return f"{AXE.relative_to(AXE.parents[3])} not found (cd tests/e2e && npm ci)"
    return None


MISSING = _missing_reason()
skipped_here = 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture (live server, database, browser): skip, or fail in CI, and say why.

    Raised here rather than in a fixture, pytest's -rs folds the skips into one line.
    """
    global skipped_here
    if MISSING is not None and item.get_closest_marker("e2e"):
        if REQUIRED:
            pytest.fail(f"MFA_REQUIRE_CHROMIUM=1 but {MISSING}", pytrace=False)
        skipped_here += 1
        pytest.skip(f"e2e: {MISSING}")


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the whole e2e package.

    Package scope rather than session scope: Playwright's sync API keeps an event loop
    running in the main thread until it stops, which would break the rest of the suite
    (``async_to_sync`` refuses to run there). Stopping it after the last e2e test keeps the
    other tests as they were. For the same reason DJANGO_ALLOW_ASYNC_UNSAFE is set only
    while the loop runs: the test thread's ORM calls (factories, assertions, the
    transactional flush) would otherwise raise SynchronousOnlyOperation.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test, on the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def shot(page, request):
    """``shot("step")`` saves screenshots/<test>/NN-step.png and NN-step-375.png and checks
    the page with axe-core at both widths; the page the test ends on is checked too."""
    folder = SCREENSHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    screenshots = Screenshots(page, folder, axe_script=AXE)
    screenshots.watch()
    yield screenshots
    if not screenshots.violations and not _failed(request):
        screenshots.check("zz-end")


def _failed(request) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is None or report.failed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Where the screenshots are; one line saying why the e2e tests were skipped."""
    if SCREENSHOTS.is_dir():
        count = sum(1 for _ in SCREENSHOTS.rglob("*.png"))
        if count:
            terminalreporter.write_line(
                f"e2e: {count} screenshots (1280 and 375 px) in {SCREENSHOTS}"
            )
    if skipped_here and not set("saA") & set(terminalreporter.reportchars):
        terminalreporter.write_line(
            f"e2e: {skipped_here} browser tests skipped: {MISSING}; "
            "MFA_REQUIRE_CHROMIUM=1 makes this an error",
            yellow=True,
        )
