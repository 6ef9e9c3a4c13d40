"""The JSON API: status, the pending login's 401 everywhere, CSRF, the error shape.

The helpers here (``Api``, ``signed_in_api`` ...) serve the other ``test_api_*`` files too.
"""

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from mfa_app import login_state
from mfa_app.api import urls as api_urls
from mfa_app.models import Challenge, RecoveryCodeSet, Requirement

from .conftest import is_logged_in, mark_mfa_verified, password_login, sign_in_with_mfa
from .factories import EmailFactorFactory, SMSFactorFactory, TOTPFactorFactory, UserFactory


def url(name: str, *args) -> str:
    return reverse(f"mfa_app:api:{name}", args=args)


class Api:
    """A script in the browser: the session cookie, and the CSRF header from the cookie."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client(enforce_csrf_checks=True)

    def token(self) -> str:
        # Read afresh at every request: Django gives the browser a new token at each login.
        if settings.CSRF_COOKIE_NAME not in self.client.cookies:
            self.client.get(url("status"))
        return self.client.cookies[settings.CSRF_COOKIE_NAME].value

    def get(self, name: str, *args, **headers):
        return self.client.get(url(name, *args), HTTP_ACCEPT="application/json", **headers)

    def send(self, method: str, name: str, data=None, *args, token: str | None = None, **headers):
        body = json.dumps(data) if data is not None and not isinstance(data, str) else data
        headers.setdefault("HTTP_X_CSRFTOKEN", token if token is not None else self.token())
        return getattr(self.client, method)(
            url(name, *args), data=body or "", content_type="application/json", **headers
        )

    def post(self, name: str, data=None, *args, **headers):
        return self.send("post", name, data, *args, **headers)

    def patch(self, name: str, data=None, *args, **headers):
        return self.send("patch", name, data, *args, **headers)

    def delete(self, name: str, *args, **headers):
        return self.send("delete", name, None, *args, **headers)


@contextmanager
def csrf_relaxed(client: Client):
    """For the steps the HTML pages take (the password form): CSRF is not what they test."""
    client.handler.enforce_csrf_checks = False
    try:
        yield
    finally:
        client.handler.enforce_csrf_checks = True


def pending_api(user) -> Api:
    """A browser that passed the password step: its login is pending."""
    api = Api()
    with csrf_relaxed(api.client):
        assert password_login(api.client, user).status_code == 302
    return api


def signed_in_api(user) -> Api:
    """A browser signed in as ``user`` just now (through MFA if the user has a factor)."""
    api = Api()
    with csrf_relaxed(api.client):
        if TOTPFactorFactory._meta.model.objects.filter(user=user).exists():
            sign_in_with_mfa(api.client, user)
        else:
            assert password_login(api.client, user).status_code == 302
            assert is_logged_in(api.client)
    return api


def error_of(response) -> dict:
    body = response.json()
    assert set(body) <= {"error", "valid"}, body
    assert set(body["error"]) >= {"code", "message"}
    return body["error"]


def set_requirement(requirement: str, **fields) -> None:
    from mfa_app.models import ApplicationPolicy

    policy = ApplicationPolicy.load()
    policy.requirement = requirement
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


@pytest.fixture
def totp(db):
    return TOTPFactorFactory()


# --- status ---------------------------------------------------------------------------------


def test_an_anonymous_client_gets_401_and_the_csrf_cookie_to_start_from(db):
    api = Api()
    response = api.get("status")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.cookies[settings.CSRF_COOKIE_NAME].value


def test_a_signed_in_user_reads_their_mfa_status_without_any_secret(totp, allow_codes):
    user = totp.user
    SMSFactorFactory(user=user, is_primary=False)
    EmailFactorFactory(user=user, is_primary=False)
    api = signed_in_api(user)
    response = api.get("status")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "AUTHENTICATED"
    assert body["enabled"] is True
    assert body["recently_authenticated"] is True
    assert body["recovery_codes_remaining"] == 0
    # The account's one address is enrolled already: email is allowed, but cannot be added.
    assert body["allowed_factors"] == ["TOTP", "WEBAUTHN", "SMS"]
    assert body["policy"]["allowed_factors"] == ["TOTP", "WEBAUTHN", "SMS", "EMAIL"]
    assert body["policy"]["mode"] == "OPTIONAL"
    assert [f["type"] for f in body["factors"]] == ["TOTP", "SMS", "EMAIL"]
    first = body["factors"][0]
    assert set(first) == {
        "id",
        "type",
        "name",
        "primary",
        "destination",
        "created_at",
        "last_used_at",
    }
    assert first["id"] == str(totp.pk) and first["primary"] is True
    assert first["destination"] is None
    assert body["factors"][1]["destination"] == "***-***-2671"
    assert totp.key not in response.content.decode()
    assert "+14155552671" not in response.content.decode()


def test_a_pending_login_gets_its_challenge_and_the_ways_to_answer_it(totp, allow_codes):
    user = totp.user
    sms = SMSFactorFactory(user=user, is_primary=False)
    RecoveryCodeSet.objects.create(user=user, name="codes", confirmed=True, salt="x")
    api = pending_api(user)
    response = api.get("status")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "MFA_REQUIRED"
    assert body["url"] == reverse("mfa_app:challenge")
    challenge = Challenge.objects.get(user=user)
    assert body["challenge"]["id"] == str(challenge.pk)
    expires = datetime.fromisoformat(body["challenge"]["expires_at"])
    assert abs((expires - challenge.expires_at).total_seconds()) < 2
    assert body["challenge"]["factors"] == [
        {"type": "TOTP", "primary": True},
        {"type": "SMS", "device_id": str(sms.pk), "destination": "***-***-2671", "primary": False},
        {"type": "RECOVERY", "primary": False},
    ]
    assert response.cookies[settings.CSRF_COOKIE_NAME].value
    assert user.get_username() not in response.content.decode()


def test_a_pending_login_that_must_enroll_gets_the_factors_it_may_add(db):
    set_requirement(Requirement.REQUIRED, grace_period_days=7)
    api = pending_api(UserFactory())
    response = api.get("status")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "MFA_ENROLLMENT_REQUIRED"
    assert body["url"] == reverse("mfa_app:enroll")
    assert body["allowed_factors"] == ["TOTP", "WEBAUTHN"]
    assert body["grace_days_left"] == 7
    assert datetime.fromisoformat(body["expires_at"]) > timezone.now()


def test_every_json_endpoint_of_the_site_answers_a_pending_login_the_same(totp):
    api = pending_api(totp.user)
    ours = api.get("status").json()
    site = api.client.get(reverse("api_me"), HTTP_ACCEPT="application/json")
    assert site.status_code == 401
    assert site.json() == ours
    assert site["Cache-Control"] == "no-store"
    posted = api.client.post(reverse("api_me"), data="{}", content_type="application/json")
    assert posted.status_code == 401
    assert posted.json() == ours
    # The HTML pages still redirect.
    assert api.client.get(reverse("private"))["Location"] == reverse("mfa_app:challenge")


@pytest.mark.parametrize(
    "method,name,args",
    [
        ("get", "factors", ()),
        ("get", "factor", ("TOTP", "1")),
        ("patch", "factor", ("TOTP", "1")),
        ("delete", "factor", ("TOTP", "1")),
        ("post", "factor_primary", ("TOTP", "1")),
        ("get", "recovery_codes", ()),
        ("post", "recovery_codes", ()),
        ("post", "reauthenticate", ()),
    ],
)
def test_a_pending_login_reaches_no_api_endpoint_beyond_its_mfa_step(totp, method, name, args):
    totp.name = "Secret laptop name"
    totp.save()
    api = pending_api(totp.user)
    # No JSON headers at all: the API's own paths still answer in JSON.
    response = getattr(api.client, method)(url(name, *args))
    assert response.status_code == 401
    assert response.json()["status"] == "MFA_REQUIRED"
    # The middleware's answer, like the endpoints' own: about one sign-in, never cached.
    assert response["Cache-Control"] == "no-store"
    assert "Secret laptop name" not in response.content.decode()
    assert not RecoveryCodeSet.objects.filter(user=totp.user).exists()
    assert not is_logged_in(api.client)


def test_a_pending_login_that_ran_out_of_time_is_dropped(totp):
    api = pending_api(totp.user)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = api.get("status")
        assert response.status_code == 401
        assert error_of(response)["code"] == "challenge_expired"
        assert login_state.PENDING_KEY not in api.client.session
        assert error_of(api.get("status"))["code"] == "not_authenticated"


def test_a_pending_login_ended_by_a_password_change_is_dropped(totp):
    api = pending_api(totp.user)
    totp.user.set_password("another password entirely")
    totp.user.save()
    response = api.client.get(reverse("api_me"), HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    assert error_of(response)["code"] == "challenge_expired"
    assert login_state.PENDING_KEY not in api.client.session


# --- CSRF -----------------------------------------------------------------------------------


def test_an_unsafe_request_without_the_csrf_header_is_refused_in_json(user):
    api = signed_in_api(user)
    for token in ("", "x" * 32, "not a token"):
        response = api.post("recovery_codes", token=token)
        assert response.status_code == 403
        assert error_of(response)["code"] == "csrf_failed"
        assert response["Content-Type"] == "application/json"
    assert not RecoveryCodeSet.objects.filter(user=user).exists()
    assert api.post("recovery_codes").status_code == 201


def test_a_request_without_the_csrf_cookie_is_refused(user):
    api = signed_in_api(user)
    token = api.token()
    del api.client.cookies[settings.CSRF_COOKIE_NAME]
    response = api.post("recovery_codes", token=token)
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"


def test_on_https_a_cross_site_origin_is_refused_even_with_the_token(user, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    api = signed_in_api(user)
    response = api.post("recovery_codes", HTTP_ORIGIN="https://evil.example", secure=True)
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"
    same_site = api.post("recovery_codes", HTTP_ORIGIN="https://testserver", secure=True)
    assert same_site.status_code == 201


def test_the_csrf_token_changes_at_login_and_the_old_one_stops_working(totp):
    api = pending_api(totp.user)
    before = api.token()
    from .factories import code_for

    challenge_id = api.get("status").json()["challenge"]["id"]
    verified = api.post(
        "verify", {"challenge_id": challenge_id, "factor": "TOTP", "code": code_for(totp)}
    )
    assert verified.status_code == 200
    assert api.token() != before
    mark_mfa_verified(api.client)
    stale = api.post("recovery_codes", token=before)
    assert error_of(stale)["code"] == "csrf_failed"
    assert api.post("recovery_codes").status_code == 201


# --- malformed requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        '"a string"',
        "null",
        json.dumps({"code": 123456}),
        json.dumps({"code": ["123456"]}),
        json.dumps({"code": "1" * 65}),
        json.dumps({"code": "   "}),
        json.dumps({"code": "123456", "name": 7}),
        "\xff\xfe",
        "[" * 100_000,
    ],
)
def test_malformed_input_is_invalid_request_and_changes_nothing(user, body):
    api = signed_in_api(user)
    assert api.post("enroll_totp").status_code == 200
    response = api.post("enroll_totp_confirm", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert not TOTPFactorFactory._meta.model.objects.filter(user=user).exists()


def test_a_missing_field_is_named(user):
    api = signed_in_api(user)
    response = api.post("enroll_totp_confirm", {})
    assert error_of(response) == {
        "code": "invalid_request",
        "message": "The request is malformed: check its JSON body and fields.",
        "field": "code",
    }


def test_a_method_the_endpoint_lacks_is_405_with_allow(user):
    api = signed_in_api(user)
    response = api.get("verify")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"
    assert api.client.put(url("factors")).status_code == 405


def test_an_unknown_api_path_is_a_json_404(user):
    api = signed_in_api(user)
    response = api.client.get("/mfa/api/no/such/thing/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- the OpenAPI document -------------------------------------------------------------------


def _api_paths(patterns, prefix="") -> set[str]:
    paths = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            paths |= _api_paths(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name != "not_found":
            route = prefix + str(pattern.pattern)
            route = re.sub(r"<str:(\w+)>", r"{\1}", route.replace("<str:pk>", "{id}"))
            paths.add("/" + route)
    return paths


def test_the_openapi_document_describes_every_endpoint(db):
    response = Client().get(url("openapi"))
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/mfa/api"}]
    assert set(document["paths"]) == _api_paths(api_urls.urlpatterns)
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    assert schemes["csrf"]["name"] == "X-CSRFToken"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            # Any request may meet a locked database: 503 busy, with Retry-After.
            assert "Retry-After" in operation["responses"]["503"]["headers"], (path, method)
            if path == "/openapi.json":
                # The document itself is public: no session, no 401.
                assert operation["security"] == []
                continue
            assert "401" in operation["responses"], (path, method)
            if method != "get":
                assert "403" in operation["responses"], (path, method)
                assert {"session": [], "csrf": []} in operation["security"]


def test_the_openapi_document_is_valid_openapi(db):
    from schemathesis.openapi import from_dict

    schema = from_dict(Client().get(url("openapi")).json())
    schema.validate()  # against the OpenAPI 3.0 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]
    # openapi.json, sessions/sign-out-others/ and the staff API's 9 included
    assert len(operations) == 32
