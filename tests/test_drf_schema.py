"""schemathesis against the live server: the token endpoints' OpenAPI document stays true.

Every operation of ``/api/auth/openapi.json`` (tests/drf_urls.py) gets generated requests:
valid ones, made real where a field is a credential (the account's username, a fresh challenge
token of a sign-in waiting for MFA), and ones the document says are wrong. Each answer must be
documented (status, content type, headers, body schema) and none a 5xx.
"""

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mfa_app import lockout, login_state
from mfa_app.contrib.rest_framework import challenge_tokens, claims, state
from mfa_app.contrib.rest_framework.openapi import paths
from mfa_app.flows import signin
from mfa_app.models import TOTPFactor

from .factories import PASSWORD, TOTPFactorFactory, UserFactory
from .test_api import set_requirement
from .test_api_schema import CHECKS

pytestmark = pytest.mark.urls("tests.drf_urls")

OPERATIONS = [
    (method.upper(), path)
    for path, item in paths().items()
    for method in item
    if method != "parameters"
]
SIGNED_IN = ("/status/", "/factors/", "/recovery-codes/")


@pytest.fixture
def account(allow_codes, settings):
    settings.MFA_IP_ATTEMPTS_PER_HOUR = 1_000_000
    settings.MFA_IP_SENDS_PER_DAY = 1_000_000
    # Users without a factor must enroll (the enrollment steps), within a grace period.
    set_requirement("REQUIRED", grace_period_days=3)
    user = UserFactory()
    TOTPFactorFactory(user=user)
    return user


def fresh_challenge_token(user) -> str:
    """The challenge token of a new password sign-in of ``user``."""
    lockout.unlock(user)
    request = RequestFactory().post("/api/auth/token/")
    pending = signin.begin_token_login(request, user, "django.contrib.auth.backends.ModelBackend")
    return challenge_tokens.issue(pending, challenge_tokens.JWT, state.new())


def make_real(case, user, path: str) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if isinstance(body.get("challenge_token"), str):
        # The enrollment steps get a user who must enroll; the challenge's, one with an app.
        who = UserFactory() if path.startswith("/enroll/") else user
        body["challenge_token"] = fresh_challenge_token(who)
    for field in {"username", get_user_model().USERNAME_FIELD}:
        if isinstance(body.get(field), str):
            body[field] = user.get_username()
            if isinstance(body.get("password"), str) and len(body["password"]) % 2 == 0:
                body["password"] = PASSWORD


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_token_answer_matches_the_openapi_document(live_server, account, method, path):
    base_url = f"{live_server.url}/api/auth"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operation = schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @hypothesis_settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case):
        make_real(case, account, path)
        headers = {}
        if path.startswith(SIGNED_IN):
            # A token that passed MFA just now (a fresh one: one example's removal hides nothing).
            if not TOTPFactor.objects.filter(user=account).exists():
                TOTPFactorFactory(user=account)
            proof = claims.passed(account, "TOTP", login_state.now())
            headers["Authorization"] = f"Bearer {claims.issue_jwt(account, proof)['access']}"
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    answers_as_documented()
