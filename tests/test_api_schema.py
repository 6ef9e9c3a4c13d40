"""schemathesis against the live server: the served OpenAPI document stays true.

Every operation of ``/mfa/api/openapi.json`` gets generated requests from a signed-in user (an
authenticator app, MFA passed just now, the CSRF cookie and header), in a fresh session each
time so that one example's lockout or removed factor does not hide the next one's answer.
Each answer must be documented (status, content type, headers, body schema) and none a 5xx.

The staff operations (``/staff/...``) are called by a superuser who passed MFA just now; half
the examples name a real user and tenant in the path, so that resets, bypasses and policy
changes are really made, not only refused as ``user_not_found``.
"""

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mfa_app import lockout, login_state
from mfa_app.api.openapi import document
from mfa_app.models import TOTPFactor

from .factories import OrganizationFactory, StaffFactory, TOTPFactorFactory, UserFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# One test per operation of the document (the served one is loaded and used in the test).
OPERATIONS = [
    (method.upper(), path)
    for path, item in document()["paths"].items()
    for method in item
    if method != "parameters"
]


@pytest.fixture
def account(allow_codes, settings):
    # Thousands of answers from 127.0.0.1 in a minute: the per-IP limit is not what runs here.
    settings.MFA_IP_ATTEMPTS_PER_HOUR = 1_000_000
    settings.MFA_IP_SENDS_PER_DAY = 1_000_000
    return UserFactory()


def fresh_session(user) -> dict[str, str]:
    """Cookies of a session signed in as ``user`` who passed MFA with an app just now."""
    if not TOTPFactor.objects.filter(user=user).exists():
        TOTPFactorFactory(user=user)
    lockout.unlock(user)
    now = timezone.now().timestamp()
    session = SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[login_state.AUTH_AT_KEY] = now
    session[login_state.VERIFIED_KEY] = {"at": now, "factor": "TOTP"}
    session.create()
    return {
        settings.SESSION_COOKIE_NAME: session.session_key,
        settings.CSRF_COOKIE_NAME: get_random_string(32),
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_matches_the_openapi_document(live_server, account, method, path):
    caller = account
    real_ids: dict[str, str] = {}
    if path.startswith("/staff/"):
        caller = StaffFactory()
        subject = TOTPFactorFactory().user
        real_ids = {"user_id": str(subject.pk), "tenant_id": str(OrganizationFactory().pk)}
    base_url = f"{live_server.url}/mfa/api"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operation = schema[path][method]
    # Valid requests, and requests the document says are wrong (missing fields, wrong types).
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases, real=st.booleans())
    @hypothesis_settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case, real):
        if real and case.path_parameters:
            case.path_parameters.update(
                {name: value for name, value in real_ids.items() if name in case.path_parameters}
            )
        # A fresh session each time: one example's lockout or removed factor hides nothing.
        cookies = fresh_session(caller)
        case.call_and_validate(
            base_url=base_url,
            cookies=cookies,
            # The CSRF header is ours, replacing any value generated for it.
            headers={"X-CSRFToken": cookies[settings.CSRF_COOKIE_NAME]},
            checks=CHECKS,
        )

    answers_as_documented()
