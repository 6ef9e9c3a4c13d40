"""System checks for misconfiguration, with stable ids."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

MIDDLEWARE = "mfa_app.middleware.MFAMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list:
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE not in middleware:
        return [
            Error(
                "mfa_app's middleware is not installed: pending logins would not be routed to "
                "their challenge.",
                hint=f"Add '{MIDDLEWARE}' to MIDDLEWARE, after '{AUTH_MIDDLEWARE}'.",
                id="mfa_app.E001",
            )
        ]
    if AUTH_MIDDLEWARE not in middleware or middleware.index(AUTH_MIDDLEWARE) > middleware.index(
        MIDDLEWARE
    ):
        return [
            Error(
                "mfa_app's middleware must come after AuthenticationMiddleware.",
                hint=f"Move '{MIDDLEWARE}' below '{AUTH_MIDDLEWARE}' in MIDDLEWARE.",
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
    except Exception as exc:
        problems.append(Error(str(exc), id="mfa_app.E003"))
    resolver = app_settings.TENANT_RESOLVER
    if isinstance(resolver, str):
        try:
            import_string(resolver)
        except ImportError:
            problems.append(
                Error(
                    f"MFA_TENANT_RESOLVER {resolver!r} cannot be imported.",
                    hint="Give the dotted path of a callable taking a user and returning a tenant.",
                    id="mfa_app.E004",
                )
            )
    for name in ("CHALLENGE_TIMEOUT", "MAX_ATTEMPTS", "REAUTHENTICATION_TIMEOUT"):
        value = getattr(app_settings, name)
        if not isinstance(value, int) or value < 1:
            problems.append(
                Error(f"MFA_{name} must be a positive whole number.", id="mfa_app.E005")
            )
    if app_settings.MAX_ATTEMPTS > 100:
        problems.append(
            Warning(
                "MFA_MAX_ATTEMPTS is above 100, NIST SP 800-63B's limit for consecutive failures.",
                id="mfa_app.W001",
            )
        )
    return problems
