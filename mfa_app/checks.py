"""System checks for misconfiguration, with stable ids."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext

MIDDLEWARE = "mfa_app.middleware.MFAMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _installed(path: str, wanted: type) -> bool:
    try:
        middleware = import_string(path)
    except ImportError:
        return False
    return isinstance(middleware, type) and issubclass(middleware, wanted)


def _position(middleware: list[str], wanted: type) -> int | None:
    return next((i for i, path in enumerate(middleware) if _installed(path, wanted)), None)


@register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list:
    from django.contrib.auth.middleware import AuthenticationMiddleware

    from .middleware import MFAMiddleware

    middleware = list(settings.MIDDLEWARE)
    mfa = _position(middleware, MFAMiddleware)
    if mfa is None:
        return [
            Error(
                gettext(
                    "mfa_app's middleware is not installed: pending logins would not be routed "
                    "to their challenge."
                ),
                hint=gettext("Add '%(middleware)s' to MIDDLEWARE, after '%(auth)s'.")
                % {"middleware": MIDDLEWARE, "auth": AUTH_MIDDLEWARE},
                id="mfa_app.E001",
            )
        ]
    auth = _position(middleware, AuthenticationMiddleware)
    if auth is None or auth > mfa:
        return [
            Error(
                gettext("mfa_app's middleware must come after AuthenticationMiddleware."),
                hint=gettext("Move '%(middleware)s' below '%(auth)s' in MIDDLEWARE.")
                % {"middleware": MIDDLEWARE, "auth": AUTH_MIDDLEWARE},
                id="mfa_app.E002",
            )
        ]
    return []


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import app_settings
    from .tenants import get_tenant_model

    problems = []
    try:
        get_tenant_model()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="mfa_app.E003"))
    resolver = app_settings.TENANT_RESOLVER
    if isinstance(resolver, str):
        try:
            resolver = import_string(resolver)
        except ImportError:
            resolver = None
        if not callable(resolver):
            problems.append(
                Error(
                    gettext("MFA_TENANT_RESOLVER %(resolver)s is not an importable callable.")
                    % {"resolver": repr(app_settings.TENANT_RESOLVER)},
                    hint=gettext(
                        "Give the dotted path of a callable taking a user and returning a tenant."
                    ),
                    id="mfa_app.E004",
                )
            )
    for name in (
        "CHALLENGE_TIMEOUT",
        "MAX_ATTEMPTS",
        "REAUTHENTICATION_TIMEOUT",
        "CODE_TIMEOUT",
        "CODE_SENDS_PER_USER_PER_DAY",
        "CODE_SENDS_PER_DESTINATION_PER_DAY",
    ):
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(
                Error(
                    gettext("MFA_%(name)s must be a positive whole number.") % {"name": name},
                    id="mfa_app.E005",
                )
            )
    attempts = app_settings.MAX_ATTEMPTS
    if isinstance(attempts, int) and attempts > 100:
        problems.append(
            Warning(
                gettext(
                    "MFA_MAX_ATTEMPTS is above 100, NIST SP 800-63B's limit for consecutive "
                    "failures."
                ),
                id="mfa_app.W001",
            )
        )
    return problems


@register()
def check_lockout_decay(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import app_settings

    decay = app_settings.LOCKOUT_DECAY
    if isinstance(decay, bool) or not isinstance(decay, int) or decay < 1:
        return [
            Error(
                gettext("MFA_LOCKOUT_DECAY must be a positive whole number of seconds."),
                hint=gettext(
                    "The seconds after which one wrong MFA answer is forgiven, e.g. 21600."
                ),
                id="mfa_app.E030",
            )
        ]
    return []


USER_VERIFICATION = ("required", "preferred", "discouraged")


def _host(origin: Any) -> str:
    try:
        return urlsplit(str(origin)).hostname or ""
    except ValueError:
        return ""


@register()
def check_webauthn(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import app_settings

    problems = []
    rp_id = str(app_settings.WEBAUTHN_RP_ID or "").lower()
    origins = app_settings.WEBAUTHN_ORIGINS or []
    for origin in [origins] if isinstance(origins, str) else origins:
        host = _host(origin)
        if rp_id and host != rp_id and not host.endswith(f".{rp_id}"):
            problems.append(
                Error(
                    gettext(
                        "The WebAuthn origin %(origin)s does not match MFA_WEBAUTHN_RP_ID "
                        "%(rp_id)s: browsers only use a security key on pages whose host is the "
                        "RP ID or a subdomain of it, so every key would fail there."
                    )
                    % {"origin": repr(origin), "rp_id": repr(rp_id)},
                    hint=gettext(
                        "Give MFA_WEBAUTHN_ORIGINS as 'scheme://host[:port]' on the RP ID's "
                        "domain (RP ID 'example.com' allows 'https://example.com' and "
                        "'https://login.example.com'), or set MFA_WEBAUTHN_RP_ID to their "
                        "common domain, without scheme or port."
                    ),
                    id="mfa_app.E006",
                )
            )
    if app_settings.WEBAUTHN_USER_VERIFICATION not in USER_VERIFICATION:
        problems.append(
            Error(
                gettext("MFA_WEBAUTHN_USER_VERIFICATION must be one of %(choices)s.")
                % {"choices": ", ".join(USER_VERIFICATION)},
                id="mfa_app.E007",
            )
        )
    return problems


@register()
def check_sms(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import app_settings

    try:
        backend = import_string(app_settings.SMS_BACKEND)
    except ImportError:
        return [
            Error(
                gettext("MFA_SMS_BACKEND %(backend)s cannot be imported.")
                % {"backend": repr(app_settings.SMS_BACKEND)},
                hint=gettext(
                    "Use mfa_app.senders.twilio.TwilioBackend, ...console.ConsoleBackend, "
                    "...locmem.LocMemBackend, or the dotted path of your own BaseSMSBackend."
                ),
                id="mfa_app.E008",
            )
        ]
    problems = []
    cooldown = app_settings.CODE_RESEND_COOLDOWN
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
        problems.append(
            Error(
                gettext("MFA_CODE_RESEND_COOLDOWN must be a whole number of seconds."),
                id="mfa_app.E009",
            )
        )
    if backend.__module__ == "mfa_app.senders.twilio" and _sms_may_be_used():
        missing = [
            f"MFA_{name}"
            for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
            if not getattr(app_settings, name)
        ]
        if not (app_settings.TWILIO_FROM_NUMBER or app_settings.TWILIO_MESSAGING_SERVICE_SID):
            missing.append("MFA_TWILIO_FROM_NUMBER or MFA_TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            # A warning: sites that never allow SMS in a policy need no Twilio account.
            problems.append(
                Warning(
                    gettext(
                        "The Twilio SMS backend is missing %(settings)s: text messages will "
                        "fail if a policy allows SMS."
                    )
                    % {"settings": ", ".join(missing)},
                    hint=gettext("Set them, or set MFA_SMS_BACKEND to another backend."),
                    id="mfa_app.W002",
                )
            )
    return problems


def _sms_may_be_used() -> bool:
    """Whether the site chose a sender or Twilio settings, or a stored policy allows SMS.

    Twilio is only the default sender: a fresh site, where no policy allows SMS, needs no
    account, and W002 there would teach people to ignore checks. Before the first migrate (or
    with no database at hand) the policies cannot be read: then only the settings speak.
    """
    configured = ("MFA_SMS_BACKEND", "MFA_TWILIO_ACCOUNT_SID", "MFA_TWILIO_AUTH_TOKEN")
    if any(hasattr(settings, name) for name in configured):
        return True
    from django.db import DatabaseError

    from .models import ApplicationPolicy, FactorType, TenantPolicy

    sms = FactorType.SMS.value
    try:
        if any(
            sms in (allowed or ())
            for allowed in ApplicationPolicy.objects.values_list("allowed_factors", flat=True)
        ):
            return True
        overrides = TenantPolicy.objects.filter(override=True)
        return any(
            sms in (allowed or ())
            for allowed in overrides.values_list("allowed_factors", flat=True).iterator()
        )
    except (DatabaseError, RuntimeError):
        # RuntimeError: a test runner that blocks database access.
        return False


PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
SESSION_CACHE_ENGINES = (
    "django.contrib.sessions.backends.cache",
    "django.contrib.sessions.backends.cached_db",
)


@register(deploy=True)
def check_cache(app_configs: Any = None, **kwargs: Any) -> list:
    """Sessions kept in a process-local cache: a pending login may exist in one process only.

    mfa_app keeps its own counters in the database and reads the session epoch from the cache
    only when it is shared (``MFA_SESSION_EPOCH_CACHE``), so a local default cache is no
    concern of mfa_app's unless the sessions, which hold the pending login, live in it.
    """
    from django.conf import settings

    if settings.DEBUG or settings.SESSION_ENGINE not in SESSION_CACHE_ENGINES:
        return []
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    # cached_db over a dummy cache is the database alone; over a local one, another process
    # may keep serving a session this one ended (a sign-out, a finished pending login).
    cached_db = settings.SESSION_ENGINE.endswith("cached_db")
    if backend not in PROCESS_LOCAL_CACHES or (cached_db and backend.endswith("DummyCache")):
        return []
    return [
        Warning(
            gettext(
                "Sessions are kept in the %(alias)s cache (%(cache)s), which lives in each server "
                "process: a sign-in, and a pending login waiting for its second factor, would "
                "exist in one process only."
            )
            % {"alias": repr(alias), "cache": backend.rsplit(".", 1)[-1]},
            hint=gettext(
                "Use a shared cache for sessions (e.g. "
                "django.core.cache.backends.redis.RedisCache), or the database session engine."
            ),
            id="mfa_app.W004",
        )
    ]


def _whole_seconds(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@register()
def check_webhooks(app_configs: Any = None, **kwargs: Any) -> list:
    from .conf import app_settings

    problems = []
    schedule = app_settings.WEBHOOK_RETRY_SCHEDULE
    if not isinstance(schedule, list | tuple) or not all(map(_whole_seconds, schedule)):
        problems.append(
            Error(
                gettext(
                    "MFA_WEBHOOK_RETRY_SCHEDULE must be a list of positive whole numbers of "
                    "seconds."
                ),
                hint=gettext(
                    "The seconds between a failed attempt and the next, e.g. "
                    "[60, 300, 1800, 7200, 43200]; [] makes a single attempt."
                ),
                id="mfa_app.E020",
            )
        )
    timeout = app_settings.WEBHOOK_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(
            Error(
                gettext("MFA_WEBHOOK_TIMEOUT must be a positive number of seconds."),
                id="mfa_app.E021",
            )
        )
    return problems + _webhook_task_problems(app_settings)


SQLITE_ENGINES = ("sqlite3", "spatialite")


@register()
def check_sqlite(app_configs: Any = None, **kwargs: Any) -> list:
    """On SQLite, a transaction must take the write lock when it begins (the settings only: no
    query, so ``manage.py check`` reports it)."""
    from django.db import router

    from .models import Challenge

    alias = router.db_for_write(Challenge)
    database = settings.DATABASES.get(alias, {})
    mode = str(database.get("OPTIONS", {}).get("transaction_mode") or "")
    sqlite = any(name in database.get("ENGINE", "") for name in SQLITE_ENGINES)
    if not sqlite or mode.upper() == "IMMEDIATE":
        return []
    return [
        Warning(
            gettext(
                "mfa_app's database %(alias)s is SQLite in %(mode)s transaction mode: two "
                "requests writing at once (answers to a challenge, a sign-in and a page view) "
                "can fail with 'database is locked', which mfa_app answers with a 503 to retry."
            )
            % {"alias": repr(alias), "mode": mode or "DEFERRED"},
            hint=gettext(
                'Add "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 10} to the '
                "database in settings.DATABASES (Django 5.1 or later), so writers queue for the "
                "lock instead."
            ),
            id="mfa_app.W005",
        )
    ]


def _webhook_task_problems(app_settings: Any) -> list:
    alias, queue = app_settings.WEBHOOK_TASK_BACKEND, app_settings.WEBHOOK_TASK_QUEUE
    try:
        from .tasks import task_backends

        backend = task_backends[alias]
    except Exception as exc:
        # Anything from a missing package to an unknown alias: deliveries could not be queued.
        message = gettext(
            "Webhook deliveries cannot be queued on task backend %(alias)s: %(error)s"
        ) % {"alias": repr(alias), "error": exc}
    else:
        if not backend.queues or queue in backend.queues:
            return []
        message = gettext(
            "The task backend %(alias)s has no queue %(queue)s (MFA_WEBHOOK_TASK_QUEUE)."
        ) % {"alias": repr(alias), "queue": repr(queue)}
    return [
        Error(
            message,
            hint=gettext(
                "Set MFA_WEBHOOK_TASK_BACKEND to an alias of settings.TASKS and "
                "MFA_WEBHOOK_TASK_QUEUE to one of its QUEUES. On Django 5.2, install django-tasks."
            ),
            id="mfa_app.E022",
        )
    ]
