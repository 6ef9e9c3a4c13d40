"""System check: token obtain views that hand out tokens for a password alone.

Simple JWT's and DRF's stock obtain views never call ``login()``, so mfa_app's gate on it never
sees them: routed beside mfa_app, they let an enrolled user skip MFA (PEND-06). The check reads
the URLconf by class names and so imports neither package.
"""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.translation import gettext

from .conf import app_settings

# The stock obtain views, and the mfa_app view that replaces each.
STOCK_VIEWS = {
    "rest_framework_simplejwt.views.TokenObtainPairView": "TokenObtainPairView",
    "rest_framework_simplejwt.views.TokenObtainSlidingView": "TokenObtainPairView",
    "rest_framework.authtoken.views.ObtainAuthToken": "ObtainAuthToken",
}
REPLACEMENTS = "mfa_app.contrib.rest_framework.views"


def _view_classes(patterns: Any, prefix: str = "") -> Iterator[tuple[str, type]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _view_classes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            if isinstance(view_class, type):
                yield prefix + str(pattern.pattern), view_class


def _stock_base(view_class: type) -> str | None:
    """The stock obtain view ``view_class`` is (or extends), unless it is one of mfa_app's."""
    if getattr(view_class, "mfa_gated", False):
        return None
    for klass in view_class.__mro__:
        name = f"{klass.__module__}.{klass.__qualname__}"
        if name in STOCK_VIEWS:
            return name
    return None


def _mfa_can_be_required() -> bool:
    # Every backend exempt (all sign-ins through SSO): no token login is ever challenged.
    backends = settings.AUTHENTICATION_BACKENDS
    return not all(backend in app_settings.EXEMPT_BACKENDS for backend in backends)


@register(Tags.security, Tags.urls)
def check_token_obtain_views(app_configs: Any = None, **kwargs: Any) -> list:
    if not _mfa_can_be_required():
        return []
    problems = []
    for route, view_class in _view_classes(get_resolver().url_patterns):
        stock = _stock_base(view_class)
        if stock is None:
            continue
        replacement = f"{REPLACEMENTS}.{STOCK_VIEWS[stock]}"
        problems.append(
            Warning(
                gettext(
                    "The URL '%(route)s' routes %(view)s, which hands out API tokens for a "
                    "password alone: an enrolled user skips MFA."
                )
                % {"route": route, "view": f"{view_class.__module__}.{view_class.__qualname__}"},
                hint=gettext(
                    "Route %(replacement)s instead (pip install mfa-app[drf]), or include "
                    "mfa_app.contrib.rest_framework.urls."
                )
                % {"replacement": replacement},
                id="mfa_app.W010",
            )
        )
    return problems
