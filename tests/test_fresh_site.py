"""A site set up from the README alone: ``startproject`` plus "Adding it to a site".

Run in a subprocess with tests/settings_fresh_site.py, which has none of the example site's
settings (no EMAIL_BACKEND, no TASKS, no SMS or cache settings).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.settings_fresh_site"

# Two sign-ins from two browsers: the second is from a new browser, whose security email the
# site cannot send (nothing listens on its mail port). Both requests must succeed.
SIGN_IN_TWICE = """
from django.contrib.auth import get_user_model
from django.test import Client

User = get_user_model()
User.objects.create_user("ann", "ann@example.com", "a-long-password-1")
AGENTS = ("Mozilla/5.0 (Macintosh) Chrome/120.0", "Mozilla/5.0 (Windows NT 10.0) Firefox/121.0")
for agent in AGENTS:
    browser = Client(HTTP_USER_AGENT=agent)
    login = {"username": "ann", "password": "a-long-password-1"}
    response = browser.post("/accounts/login/", login)
    home = browser.get("/mfa/security/")
    print("status", response.status_code, home.status_code)
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "SQLITE_PATH": str(tmp_path / "fresh.sqlite3"),
        **env,
    }
    environment.pop("MFA_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("debug", ["1", "0"])
def test_a_fresh_site_gets_no_twilio_or_cache_warning(tmp_path, debug):
    result = run(["check", "--deploy"], tmp_path, FRESH_DEBUG=debug)
    output = result.stdout + result.stderr
    assert "System check identified" in output  # the checks did run (W005, security.W...)
    assert "mfa_app.W002" not in output
    assert "mfa_app.W004" not in output


def test_once_a_policy_allows_sms_the_missing_twilio_account_is_reported(tmp_path):
    assert run(["migrate", "-v0"], tmp_path).returncode == 0
    allow_sms = (
        "from mfa_app.models import ApplicationPolicy; p = ApplicationPolicy.load(); "
        "p.allowed_factors = ['TOTP', 'SMS']; p.save()"
    )
    assert run(["shell", "-c", allow_sms], tmp_path).returncode == 0
    output = run(["check"], tmp_path).stderr
    assert "mfa_app.W002" in output


def test_without_a_mail_server_the_sign_in_succeeds_and_one_line_is_logged(tmp_path):
    assert run(["migrate", "-v0"], tmp_path).returncode == 0
    result = run(["shell", "-c", SIGN_IN_TWICE], tmp_path, FRESH_EMAIL_PORT=str(_closed_port()))
    assert result.returncode == 0, result.stderr
    statuses = [line for line in result.stdout.splitlines() if line.startswith("status")]
    assert statuses == ["status 302 200", "status 302 200"]
    logged = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    (line,) = logged
    assert "Could not send the" in line and "ConnectionRefusedError" in line
    assert "ann" not in line
