import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse

from mfa_app.models import ApplicationPolicy

from .factories import PASSWORD, TOTPFactorFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_policy(db):
    """Every test starts from the application policy's defaults."""
    return ApplicationPolicy.load()


@pytest.fixture(autouse=True)
def sms_outbox():
    """Text messages sent through the locmem backend during this test, oldest first."""
    from mfa_app import senders

    senders.outbox.clear()
    yield senders.outbox
    senders.outbox.clear()


@pytest.fixture(autouse=True)
def _no_removed_addresses_left():
    """Forget the email factors an earlier test deleted without recording the removal, as the
    app does when a request starts: a test may record a removal without any request, and
    SQLite gives a rolled-back test's primary keys out again, so its user could inherit them.
    """
    from mfa_app import notifications

    notifications._forget_removed_addresses()


@pytest.fixture
def shared_cache(tmp_path):
    """A cache every server process shares, as a production site has (Redis, memcached): a
    file cache. mfa_app keeps the session epochs, the configured policies and whether any
    webhook endpoint is active there; the tests' default, local memory, is never trusted."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    with override_settings(CACHES=caches):
        yield


@pytest.fixture
def app_policy(_fresh_policy):
    return _fresh_policy


@pytest.fixture
def allow_codes(app_policy):
    """The application policy with every factor allowed, SMS and email included."""
    app_policy.allowed_factors = ["TOTP", "WEBAUTHN", "SMS", "EMAIL"]
    app_policy.save()
    return app_policy


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def totp_user(db):
    return TOTPFactorFactory().user


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def login_form(user) -> dict:
    return {"username": getattr(user, get_user_model().USERNAME_FIELD), "password": PASSWORD}


def password_login(client: Client, user, next_url: str | None = None):
    """Pass the password step as a person would, at the example site's login page."""
    url = reverse("login")
    data = login_form(user)
    if next_url is not None:
        data["next"] = next_url
    return client.post(url, data)


def sign_in_with_mfa(client: Client, user) -> None:
    """Sign ``user`` in through the password and an authenticator app (added if need be)."""
    from mfa_app.models import TOTPFactor

    from .factories import TOTPFactorFactory, code_for

    device = TOTPFactor.objects.filter(user=user).first() or TOTPFactorFactory(user=user)
    password_login(client, user)
    response = client.post(
        reverse("mfa_app:challenge"), {"factor": "TOTP", "code": code_for(device)}
    )
    assert response.status_code == 302, response.content.decode()[:500]


def mark_mfa_verified(client: Client, factor_type: str = "TOTP") -> None:
    """As if the signed-in user had just passed MFA in this session."""
    from django.utils import timezone

    from mfa_app import login_state

    session = client.session
    now = timezone.now().timestamp()
    session[login_state.AUTH_AT_KEY] = now
    session[login_state.VERIFIED_KEY] = {"at": now, "factor": factor_type}
    session.save()


def sent_prompt(to: str) -> str:
    """How the challenge page says where a code went (``to`` is the masked destination)."""
    return f'Enter the code sent to <strong class="mfa-destination">{to}</strong>'


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("api_me"), HTTP_ACCEPT="application/json").status_code == 200


# --- PostgreSQL-only tests --------------------------------------------------------------------
# Tests marked ``postgres`` need real concurrent connections. On any other database they are
# skipped with one reason, unless MFA_REQUIRE_POSTGRES=1 (CI), where they fail instead, so a
# misconfigured CI run cannot pass by silently skipping them.

_POSTGRES_REQUIRED = pytest.StashKey[str]()


def _postgres_missing_reason() -> str | None:
    from django.db import connections

    vendor = connections["default"].vendor
    if vendor == "postgresql":
        return None
    return f"needs PostgreSQL (set MFA_DB=postgres and PG* variables); the database is {vendor}"


def pytest_collection_modifyitems(config, items):
    import os

    marked = [item for item in items if item.get_closest_marker("postgres")]
    reason = _postgres_missing_reason() if marked else None
    if reason is None:
        return
    required = os.environ.get("MFA_REQUIRE_POSTGRES") == "1"
    for item in marked:
        if required:
            item.stash[_POSTGRES_REQUIRED] = f"MFA_REQUIRE_POSTGRES=1 but this test {reason}"
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    reason = item.stash.get(_POSTGRES_REQUIRED, None)
    if reason is not None:
        pytest.fail(reason, pytrace=False)
