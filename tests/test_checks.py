"""System checks: each misconfiguration is reported with its stable id, and a good one is quiet."""

import re
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.core import checks
from django.core.checks import Error, Warning
from django.test import override_settings

from example_project import settings as example_settings
from mfa_app.checks import (
    AUTH_MIDDLEWARE,
    MIDDLEWARE,
    check_middleware,
    check_settings,
    check_sms,
    check_sqlite,
)
from mfa_app.middleware import MFAMiddleware
from tests.test_locale import remake_catalogs


class SiteMFAMiddleware(MFAMiddleware):
    """A site's own customisation of the middleware."""


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def mfa_ids(messages) -> list[str]:
    return [i for i in ids(messages) if i and i.startswith("mfa_app.")]


def without(items, name):
    return [item for item in items if item != name]


def run_all_checks() -> list:
    """What ``manage.py check`` reports, so registration is tested too."""
    return checks.run_checks(include_deployment_checks=False)


# --- nothing fires for a good configuration ---------------------------------------------------


def test_the_example_sites_settings_raise_no_mfa_check():
    with override_settings(
        MIDDLEWARE=example_settings.MIDDLEWARE,
        MFA_TENANT_MODEL=example_settings.MFA_TENANT_MODEL,
        MFA_TENANT_RESOLVER=example_settings.MFA_TENANT_RESOLVER,
    ):
        assert check_middleware() == []
        assert check_settings() == []
        assert mfa_ids(run_all_checks()) == []


def test_the_test_settings_raise_no_mfa_check():
    assert check_middleware() == []
    assert check_settings() == []
    assert mfa_ids(run_all_checks()) == []


def test_the_default_tenant_model_and_a_callable_resolver_raise_no_check(settings):
    del settings.MFA_TENANT_MODEL
    settings.MFA_TENANT_RESOLVER = lambda user: None
    assert check_settings() == []


def test_no_tenant_resolver_at_all_is_fine(settings):
    settings.MFA_TENANT_RESOLVER = None
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("MFA_CHALLENGE_TIMEOUT", 1), ("MFA_MAX_ATTEMPTS", 100), ("MFA_REAUTHENTICATION_TIMEOUT", 1)],
)
def test_boundary_numbers_are_accepted(settings, name, value):
    setattr(settings, name, value)
    assert check_settings() == []


# --- E001 / E002: the middleware ---------------------------------------------------------------


def test_e001_fires_when_the_middleware_is_missing(settings):
    settings.MIDDLEWARE = without(example_settings.MIDDLEWARE, MIDDLEWARE)
    (message,) = check_middleware()
    assert isinstance(message, Error)
    assert message.id == "mfa_app.E001"
    assert MIDDLEWARE in message.hint
    assert "mfa_app.E001" in ids(run_all_checks())


def test_e002_fires_when_the_middleware_comes_before_authentication(settings):
    middleware = without(example_settings.MIDDLEWARE, MIDDLEWARE)
    middleware.insert(middleware.index(AUTH_MIDDLEWARE), MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    (message,) = check_middleware()
    assert isinstance(message, Error)
    assert message.id == "mfa_app.E002"
    assert AUTH_MIDDLEWARE in message.hint
    assert "mfa_app.E002" in ids(run_all_checks())


def test_e002_fires_when_authentication_middleware_is_missing(settings):
    settings.MIDDLEWARE = without(example_settings.MIDDLEWARE, AUTH_MIDDLEWARE)
    assert ids(check_middleware()) == ["mfa_app.E002"]


def test_the_middleware_may_come_anywhere_after_authentication(settings):
    settings.MIDDLEWARE = [*without(example_settings.MIDDLEWARE, MIDDLEWARE), MIDDLEWARE]
    assert check_middleware() == []


def test_a_subclass_of_the_middleware_counts_as_installed(settings):
    subclass = "tests.test_checks.SiteMFAMiddleware"
    middleware = list(example_settings.MIDDLEWARE)
    middleware[middleware.index(MIDDLEWARE)] = subclass
    settings.MIDDLEWARE = middleware
    assert check_middleware() == []


# --- E003: tenant model -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["accounts.NoSuchModel", "nosuchapp.Organization", "nodot"])
def test_e003_fires_for_a_tenant_model_that_is_not_an_installed_model(settings, model):
    settings.MFA_TENANT_MODEL = model
    messages = check_settings()
    assert ids(messages) == ["mfa_app.E003"]
    assert isinstance(messages[0], Error)
    assert model in messages[0].msg


# --- E004: tenant resolver --------------------------------------------------------------------


@pytest.mark.parametrize(
    "resolver",
    [
        "no.such.module.resolver",
        "example_project.accounts.tenants.no_such_function",
        "nodots",
    ],
)
def test_e004_fires_for_a_resolver_that_cannot_be_imported(settings, resolver):
    settings.MFA_TENANT_RESOLVER = resolver
    messages = check_settings()
    assert ids(messages) == ["mfa_app.E004"]
    assert isinstance(messages[0], Error)
    assert resolver in messages[0].msg
    assert messages[0].hint


def test_e004_fires_for_a_resolver_that_is_not_callable(settings):
    settings.MFA_TENANT_RESOLVER = "example_project.settings.SECRET_KEY"
    assert ids(check_settings()) == ["mfa_app.E004"]


# --- E005: numbers ----------------------------------------------------------------------------

NUMBERS = ["MFA_CHALLENGE_TIMEOUT", "MFA_MAX_ATTEMPTS", "MFA_REAUTHENTICATION_TIMEOUT"]


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_e005_fires_for_a_number_that_is_not_a_positive_whole_number(settings, name, value):
    setattr(settings, name, value)
    messages = check_settings()
    assert ids(messages) == ["mfa_app.E005"]
    assert isinstance(messages[0], Error)
    assert name in messages[0].msg


@pytest.mark.parametrize("name", ["MFA_CHALLENGE_TIMEOUT", "MFA_REAUTHENTICATION_TIMEOUT"])
@pytest.mark.parametrize("value", ["600", None])
def test_e005_fires_for_a_timeout_that_is_not_a_number(settings, name, value):
    setattr(settings, name, value)
    assert ids(check_settings()) == ["mfa_app.E005"]


@pytest.mark.parametrize("value", ["5", None])
def test_e005_fires_for_max_attempts_that_is_not_a_number(settings, value):
    settings.MFA_MAX_ATTEMPTS = value
    assert ids(check_settings()) == ["mfa_app.E005"]


def test_each_bad_number_gets_its_own_e005(settings):
    settings.MFA_CHALLENGE_TIMEOUT = 0
    settings.MFA_MAX_ATTEMPTS = -3
    settings.MFA_REAUTHENTICATION_TIMEOUT = 2.5
    messages = check_settings()
    assert ids(messages) == ["mfa_app.E005"] * 3
    assert {name for name in NUMBERS if any(name in m.msg for m in messages)} == set(NUMBERS)


# --- W001: attempts above NIST's limit ------------------------------------------------------


def test_w001_warns_about_more_than_100_attempts(settings):
    settings.MFA_MAX_ATTEMPTS = 101
    messages = check_settings()
    assert ids(messages) == ["mfa_app.W001"]
    assert isinstance(messages[0], Warning)
    assert not messages[0].is_serious()
    assert "mfa_app.W001" in ids(run_all_checks())


def test_several_problems_are_all_reported(settings):
    settings.MFA_TENANT_MODEL = "nodot"
    settings.MFA_TENANT_RESOLVER = "no.such.resolver"
    settings.MFA_CHALLENGE_TIMEOUT = 0
    assert sorted(ids(check_settings())) == ["mfa_app.E003", "mfa_app.E004", "mfa_app.E005"]


# --- SMS ----------------------------------------------------------------------------------------


def test_e008_fires_for_an_sms_backend_that_cannot_be_imported(settings):
    settings.MFA_SMS_BACKEND = "no.such.Backend"
    assert ids(check_sms()) == ["mfa_app.E008"]
    assert "mfa_app.E008" in ids(run_all_checks())


@pytest.mark.parametrize("value", [-1, "30", 1.5, True])
def test_e009_fires_for_a_bad_cooldown(settings, value):
    settings.MFA_CODE_RESEND_COOLDOWN = value
    assert ids(check_sms()) == ["mfa_app.E009"]


def test_a_zero_cooldown_is_allowed(settings):
    settings.MFA_CODE_RESEND_COOLDOWN = 0
    assert check_sms() == []


@pytest.mark.parametrize("name", ["CODE_TIMEOUT", "CODE_SENDS_PER_USER_PER_DAY"])
def test_e005_covers_the_code_settings(settings, name):
    setattr(settings, f"MFA_{name}", 0)
    assert ids(check_settings()) == ["mfa_app.E005"]


def test_w002_warns_when_twilio_has_no_credentials(settings):
    settings.MFA_SMS_BACKEND = "mfa_app.senders.twilio.TwilioBackend"
    messages = check_sms()
    assert ids(messages) == ["mfa_app.W002"]
    assert "MFA_TWILIO_ACCOUNT_SID" in messages[0].msg
    assert "MFA_TWILIO_FROM_NUMBER or MFA_TWILIO_MESSAGING_SERVICE_SID" in messages[0].msg


def test_w002_is_quiet_when_nothing_chose_twilio_and_no_policy_allows_sms(settings, db):
    from mfa_app.models import ApplicationPolicy

    del settings.MFA_SMS_BACKEND  # Twilio is the default sender
    assert check_sms() == []
    policy = ApplicationPolicy.load()
    policy.allowed_factors = ["TOTP", "SMS"]
    policy.save()
    assert ids(check_sms()) == ["mfa_app.W002"]


def test_w002_is_quiet_without_a_database_to_read_policies_from(settings):
    del settings.MFA_SMS_BACKEND
    assert check_sms() == []


def test_twilio_with_credentials_and_a_sender_is_quiet(settings):
    settings.MFA_SMS_BACKEND = "mfa_app.senders.twilio.TwilioBackend"
    settings.MFA_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.MFA_TWILIO_AUTH_TOKEN = "token"
    settings.MFA_TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    assert check_sms() == []


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}


@pytest.mark.parametrize(
    "engine",
    ["django.contrib.sessions.backends.cache", "django.contrib.sessions.backends.cached_db"],
)
def test_w004_warns_when_sessions_live_in_a_process_local_cache_in_production(settings, engine):
    from mfa_app.checks import check_cache

    settings.DEBUG = False
    settings.SESSION_ENGINE = engine
    settings.CACHES = LOCMEM
    (message,) = check_cache()
    assert message.id == "mfa_app.W004" and "Sessions are kept" in message.msg
    settings.CACHES = REDIS
    assert check_cache() == []
    settings.DEBUG = True
    settings.CACHES = LOCMEM
    assert check_cache() == []


def test_w004_is_quiet_about_a_local_cache_that_holds_no_sessions(settings):
    """mfa_app itself keeps nothing in a per-process cache: a fresh site's LocMemCache is fine."""
    from mfa_app.checks import check_cache

    settings.DEBUG = False
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.CACHES = LOCMEM
    assert check_cache() == []
    # cached_db over a dummy cache is the database alone.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = DUMMY
    assert check_cache() == []


# --- W005: SQLite without transactions that take the write lock up front ---------------------


# The checks read DATABASES; no connection is opened with these.
databases_overridden = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def sqlite_database(**options) -> dict:
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    return {**database, "OPTIONS": options} if options else database


@databases_overridden
@pytest.mark.parametrize("options", [{}, {"transaction_mode": "DEFERRED"}, {"timeout": 20}])
def test_w005_fires_for_sqlite_without_immediate_transactions(settings, options):
    settings.DATABASES = {"default": sqlite_database(**options)}
    messages = check_sqlite()
    assert ids(messages) == ["mfa_app.W005"]
    assert isinstance(messages[0], Warning)
    assert "database is locked" in messages[0].msg
    assert '"transaction_mode": "IMMEDIATE"' in messages[0].hint
    assert "mfa_app.W005" in mfa_ids(run_all_checks())


@databases_overridden
@pytest.mark.parametrize("mode", ["IMMEDIATE", "immediate"])
def test_w005_is_quiet_for_immediate_transactions(settings, mode):
    settings.DATABASES = {"default": sqlite_database(transaction_mode=mode)}
    assert check_sqlite() == []


@databases_overridden
def test_w005_is_quiet_for_the_example_sites_sqlite_settings(settings):
    settings.DATABASES = {"default": example_settings.DATABASES["default"]}
    assert check_sqlite() == []


@databases_overridden
def test_w005_is_quiet_for_postgresql(settings):
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}}
    assert check_sqlite() == []


# --- W006: security notices by email, and the site never said where email goes --------------


def manage_check(settings_module: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", f"--settings={settings_module}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.subprocess
def test_w006_fires_for_a_fresh_site_that_never_set_where_mail_goes():
    output = manage_check("tests.settings_fresh_mail")
    assert "mfa_app.W006" in output
    assert "EMAIL_BACKEND" in output


@pytest.mark.subprocess
def test_w006_is_quiet_once_the_site_sets_its_email_backend():
    assert "mfa_app.W006" not in manage_check("tests.settings")


# --- every message is marked for translation --------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The German catalog ``make messages``'s makemessages extracts from a copy of mfa_app now."""
    locale = remake_catalogs(tmp_path_factory.mktemp("makemessages"))
    return polib.pofile(str(locale / "de" / "LC_MESSAGES" / "django.po"))


def marked_as(text: str, catalog: polib.POFile) -> polib.POEntry | None:
    """The msgid ``text`` was made from, its named placeholders filled in; None if unmarked."""
    for entry in catalog:
        pieces = re.split(r"%\([a-z_]+\)s", entry.msgid)
        if re.fullmatch(".+?".join(map(re.escape, pieces)), text, re.DOTALL):
            return entry
    return None


@pytest.mark.subprocess
@databases_overridden
def test_check_messages_are_extracted_for_translation(settings, extracted):
    """A representative message of each module and kind: plain, placeholders, two variants."""
    from mfa_app.checks import check_cache, check_webauthn
    from mfa_app.checks_crypto import check_encryption_keys
    from mfa_app.languages import check_user_language

    settings.MIDDLEWARE = without(example_settings.MIDDLEWARE, MIDDLEWARE)
    settings.MFA_MAX_ATTEMPTS = 0
    settings.MFA_WEBAUTHN_USER_VERIFICATION = "sometimes"
    settings.MFA_ENCRYPTION_KEYS = ["not a key"]
    settings.MFA_USER_LANGUAGE = 42
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.DATABASES = {"default": sqlite_database()}
    messages = [
        *check_middleware(),  # E001
        *check_settings(),  # E005
        *check_webauthn(),  # E007
        *check_encryption_keys(),  # E011, its message from mfa_app.crypto
        *check_user_language(),  # E031
        *check_cache(),  # W004
        *check_sqlite(),  # W005
    ]
    assert ids(messages) == [
        "mfa_app.E001",
        "mfa_app.E005",
        "mfa_app.E007",
        "mfa_app.E011",
        "mfa_app.E031",
        "mfa_app.W004",
        "mfa_app.W005",
    ]
    for message in messages:
        for text in filter(None, (message.msg, message.hint)):
            entry = marked_as(text, extracted)
            assert entry is not None, f"{message.id}: not marked for translation: {text!r}"
            if "%(" in entry.msgid:
                assert "python-format" in entry.flags, entry.msgid
    # The placeholders are named, so a translation can put them in its own order.
    assert extracted.find("MFA_%(name)s must be a positive whole number.") is not None
