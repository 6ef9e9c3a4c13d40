"""Promises about the project itself: committed migrations, the QR code, the demo seed."""

import io
import os
import subprocess
import sys

import pytest
import qrcode
from django.core.management import call_command

from mfa_app.models import EmailFactor, SMSFactor, TOTPFactor
from mfa_app.qr import qr_matrix, qr_svg


@pytest.mark.django_db
def test_every_model_change_has_a_committed_migration():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_svg_qr_code_draws_exactly_the_modules_qrcode_computes():
    uri = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    svg = qr_svg(uri)
    matrix = qr_matrix(uri)
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    reference.add_data(uri)
    reference.make(fit=True)
    assert matrix == reference.get_matrix()
    # Every dark module is covered by exactly one horizontal run in the path.
    drawn = set()
    for run in svg.split('d="')[1].split('"')[0].split("z")[:-1]:
        x, rest = run[1:].split(" ")
        y, width = rest.split("h")[0], rest.split("h")[1].split("v")[0]
        drawn |= {(int(x) + i, int(y)) for i in range(int(width))}
    dark = {(x, y) for y, row in enumerate(matrix) for x, on in enumerate(row) if on}
    assert drawn == dark


def test_svg_title_is_escaped():
    assert "<script>" not in qr_svg("x", title="<script>")


@pytest.mark.django_db
def test_demo_seed_creates_the_advertised_users_and_can_run_twice():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=io.StringIO())
    assert "alice" in out.getvalue() and "admin" in out.getvalue() and "dave" in out.getvalue()
    assert TOTPFactor.objects.count() == 1
    assert SMSFactor.objects.count() == 1 and EmailFactor.objects.count() == 1


DEFAULT_TENANT_SCRIPT = """
from django.contrib.auth import get_user_model
from mfa_app.models import Tenant, TenantPolicy
from mfa_app.policy import policy_for
from mfa_app.tenants import get_tenant_model

assert get_tenant_model() is Tenant
User = get_user_model()


def make(email):
    if User.USERNAME_FIELD == "email":
        return User._default_manager.create_user(email)
    return User._default_manager.create_user(email.split("@")[0], email=email)


member, outsider = make("ann@acme.test"), make("bo@other.test")
acme = Tenant.objects.create(name="acme.test")
TenantPolicy.objects.create(tenant=acme, override=True, requirement="REQUIRED")
print(policy_for(member).requirement, policy_for(member).source, policy_for(outsider).requirement)
"""


@pytest.mark.subprocess
def test_the_default_tenant_model_migrates_and_drives_policies(tmp_path):
    """Without MFA_TENANT_MODEL, mfa_app's own Tenant model is created and used."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_default_tenant",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    env.pop("MFA_DB", None)
    run = [sys.executable, "-m", "django"]
    subprocess.run([*run, "migrate", "-v0"], env=env, check=True)
    out = subprocess.run(
        [*run, "shell", "-c", DEFAULT_TENANT_SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.splitlines()[-1].split() == ["REQUIRED", "tenant", "OPTIONAL"]
