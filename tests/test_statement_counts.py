"""What a sign-in costs the database, pinned: the requests of bench/ S2, S3 and S5.

No timing here (bench/ prints those); the number of SQL statements and of transactions that
write (each one a flush to disk in production) is exact, so a change that adds one shows here.
An answer checks, spends, audits and signs in within one transaction; the second commit is
Django's session middleware saving the session after the response is made.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.scenarios import classify
from mfa_app.services import recovery_codes_after_enrollment

from .conftest import login_form, password_login
from .factories import TOTPFactorFactory, UserFactory, code_for

# Committed transactions show as BEGIN ... COMMIT only outside a test's own transaction.
pytestmark = pytest.mark.django_db(transaction=True)

CHALLENGE = "mfa_app:challenge"


def browser() -> Client:
    return Client(REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="mfa-bench")


def cost(sqls: list[str]) -> tuple[int, int]:
    counts = classify(sqls)
    return counts["statements"], counts["commits"]


def captured(client: Client, method: str, url: str, data=None, status: int = 302) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data)
    assert response.status_code == status, response.content.decode()[:300]
    return [q["sql"] for q in queries.captured_queries]


@pytest.fixture(autouse=True)
def production_cache(shared_cache):
    """As on a production site, with a shared cache (``conftest.shared_cache``)."""


@pytest.fixture
def totp():
    return TOTPFactorFactory(user=UserFactory())


def test_s2_a_totp_answer(totp):
    client = browser()
    password_login(client, totp.user)
    sqls = captured(client, "post", reverse(CHALLENGE), {"factor": "TOTP", "code": code_for(totp)})
    assert cost(sqls) == (16, 2)


def test_s5_a_recovery_code(totp):
    codes = recovery_codes_after_enrollment(totp.user)
    client = browser()
    password_login(client, totp.user)
    sqls = captured(client, "post", reverse(CHALLENGE), {"factor": "RECOVERY", "code": codes[0]})
    assert cost(sqls) == (22, 2)


def test_s3_the_whole_sign_in(totp):
    client = browser()
    landing = resolve_url(settings.LOGIN_REDIRECT_URL)
    login = reverse("login")
    data = login_form(totp.user)
    sqls = captured(client, "get", login, status=200)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(login, data)
    # Straight to the challenge: no stop at a page the pending login could not open.
    assert response.status_code == 302 and response.url == reverse(CHALLENGE)
    sqls += [q["sql"] for q in queries.captured_queries]
    sqls += captured(client, "get", reverse(CHALLENGE), status=200)
    answer = {"factor": "TOTP", "code": code_for(totp)}
    sqls += captured(client, "post", reverse(CHALLENGE), answer)
    sqls += captured(client, "get", landing, status=200)
    assert cost(sqls) == (35, 8)
