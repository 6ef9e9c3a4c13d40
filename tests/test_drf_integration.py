"""The DRF extra from the site's side: the system check on stock obtain views, the one function
plain views call to let token clients in, and mfa_app running without DRF installed."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from mfa_app.checks_tokens import check_token_obtain_views
from mfa_app.contrib.rest_framework import authenticate

from .factories import TOTPFactorFactory, code_for
from .test_drf_tokens import AUTHTOKEN_URL, challenge_token_of, obtain, verify

ROOT = Path(__file__).resolve().parent.parent


def test_routing_the_stock_obtain_views_is_warned_about_with_the_view_to_use(settings):
    settings.ROOT_URLCONF = "tests.drf_stock_urls"
    warnings = check_token_obtain_views()
    assert [w.id for w in warnings] == ["mfa_app.W010", "mfa_app.W010"]
    assert all(isinstance(w, checks.Warning) for w in warnings)
    by_route = {w.msg.split("'")[1]: w for w in warnings}
    assert set(by_route) == {"api/token/", "api/auth-token/"}
    assert "rest_framework_simplejwt.views.TokenObtainPairView" in by_route["api/token/"].msg
    assert "mfa_app.contrib.rest_framework.views.TokenObtainPairView" in (
        by_route["api/token/"].hint
    )
    assert "mfa_app.contrib.rest_framework.views.ObtainAuthToken" in (
        by_route["api/auth-token/"].hint
    )


def test_the_gated_views_are_not_warned_about(settings):
    settings.ROOT_URLCONF = "tests.drf_urls"
    assert check_token_obtain_views() == []


def test_no_warning_where_every_sign_in_is_exempt_from_mfa(settings):
    settings.ROOT_URLCONF = "tests.drf_stock_urls"
    settings.MFA_EXEMPT_BACKENDS = list(settings.AUTHENTICATION_BACKENDS)
    assert check_token_obtain_views() == []


def test_the_check_runs_with_the_sites_checks(settings):
    settings.ROOT_URLCONF = "tests.drf_stock_urls"
    ids = [m.id for m in checks.run_checks(tags=[checks.Tags.security])]
    assert ids.count("mfa_app.W010") == 2


# --- authenticate(request): token clients for plain Django views --------------------------


def bearer_request(header: str | None):
    factory = RequestFactory()
    return factory.get("/", HTTP_AUTHORIZATION=header) if header else factory.get("/")


@pytest.mark.urls("tests.drf_urls")
def test_authenticate_reads_a_jwt_and_how_mfa_was_passed(db):
    device = TOTPFactorFactory()
    body = verify(challenge_token_of(device.user), code_for(device)).json()
    user, methods, mfa_at = authenticate(bearer_request(f"Bearer {body['access']}"))
    assert user == device.user
    assert methods == ["pwd", "mfa", "otp"]
    assert isinstance(mfa_at, int | float)


@pytest.mark.urls("tests.drf_urls")
def test_authenticate_reads_a_drf_key_and_its_record(db):
    device = TOTPFactorFactory()
    token = challenge_token_of(device.user, AUTHTOKEN_URL)
    key = verify(token, code_for(device)).json()["token"]
    user, methods, mfa_at = authenticate(bearer_request(f"Token {key}"))
    assert (user, methods) == (device.user, ["pwd", "mfa", "otp"])
    assert mfa_at is not None


@pytest.mark.urls("tests.drf_urls")
def test_authenticate_says_when_a_token_holds_no_mfa(user):
    access = obtain(user).json()["access"]
    assert authenticate(bearer_request(f"Bearer {access}")) == (user, ["pwd"], None)
    stock_key = Token.objects.create(user=user).key
    assert authenticate(bearer_request(f"Token {stock_key}")) == (user, [], None)


@pytest.mark.parametrize(
    "header", [None, "Bearer nonsense", "Bearer a.b.c", "Token 0123456789", "Basic eDp5"]
)
def test_authenticate_refuses_no_token_or_a_bad_one(db, header):
    assert authenticate(bearer_request(header)) is None


@pytest.mark.urls("tests.drf_urls")
def test_authenticate_refuses_an_inactive_users_token(user):
    access = obtain(user).json()["access"]
    user.is_active = False
    user.save()
    assert authenticate(bearer_request(f"Bearer {access}")) is None


# --- the core without DRF ---------------------------------------------------------------------

WITHOUT_DRF = """
import importlib, pkgutil, sys
for name in ("rest_framework", "rest_framework_simplejwt"):
    sys.modules[name] = None  # an import of it now raises ImportError
import django
django.setup()
import mfa_app
from django.core.management import call_command
for module in pkgutil.walk_packages(mfa_app.__path__, "mfa_app."):
    if ".contrib." in module.name + "." or ".migrations" in module.name or ".tests" in module.name:
        continue
    importlib.import_module(module.name)
call_command("check")
print("ok")
"""


@pytest.mark.subprocess
def test_mfa_app_imports_and_checks_without_drf_installed():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DRF],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "example_project.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
