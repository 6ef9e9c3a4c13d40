"""Step-up MFA: pages that need a recent second factor, perhaps a strong one.

A stale session is sent to the step-up page with ``next`` and, for a factor restriction, a
signed ``factors`` token (each tab carries its own). The page offers only what the token allows;
the decorator checks the factor actually used on the way back, so whatever reaches the page,
a session that does not qualify never reaches the view.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from . import errors
from .factors import second_factors
from .flows.step_up import mfa_verified, step_up_methods
from .middleware import wants_json
from .replies import error_response

__all__ = ["MFARequiredMixin", "mfa_required", "mfa_verified", "read_factors", "step_up_url"]

_SALT = "mfa_app.step_up.factors"

View = Callable[..., HttpResponse]


def step_up_response(
    request: HttpRequest, max_age: int | None = None, factors: Iterable[str] | None = None
) -> HttpResponse | None:
    """Where to send a request that needs MFA, or ``None`` if the session qualifies."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if mfa_verified(request, max_age, factors):
        return None
    url = step_up_url(request.get_full_path(), factors)
    if not wants_json(request):
        return HttpResponseRedirect(url)
    if not step_up_methods(request.user, factors):
        # No factor can answer: stepping up would only loop. The user must add one first.
        refusal = errors.EnrollmentRequired(url=reverse("mfa_app:security"))
    else:
        refusal = errors.StepUpRequired(url=url)
    response = error_response(refusal)
    response["Cache-Control"] = "no-store"
    return response


def step_up_url(next_url: str, factors: Iterable[str] | None = None) -> str:
    """The step-up page's URL, coming back to ``next_url``."""
    return f"{reverse('mfa_app:step_up')}?{urlencode(step_up_query(next_url, factors))}"


def step_up_query(next_url: str, factors: Iterable[str] | None) -> dict[str, str]:
    query = {"next": next_url} if next_url else {}
    if factors is not None:
        query["factors"] = signing.dumps(sorted(factors), salt=_SALT)
    return query


def read_factors(token: str | None) -> list[str] | None:
    """The restriction signed by ``step_up_query``; ``None`` (any factor) if absent or forged.

    Dropping or forging the token gains nothing: the decorator checks the factor used.
    """
    try:
        factors = signing.loads(token, salt=_SALT) if token else None
    except signing.BadSignature:
        return None
    valid = isinstance(factors, list) and all(isinstance(f, str) for f in factors)
    return factors if valid else None


def _checked_factors(factors: Iterable[str] | None) -> frozenset[str] | None:
    if factors is None:
        return None
    if isinstance(factors, str):
        factors = [factors]
    checked = frozenset(factors)
    # The second factors' types, in menu order (recovery codes cannot be required).
    known = [str(f.type) for f in sorted(second_factors(), key=lambda f: f.order)]
    if not checked or checked - set(known):
        raise ValueError(f"mfa_required(factors=...) takes factor types of {known}")
    return checked


def mfa_required(
    view: View | None = None,
    *,
    max_age: int | None = None,
    factors: Iterable[str] | None = None,
) -> Any:
    """Let a view run only for a session that passed MFA recently enough, with a strong factor.

    ``max_age``: seconds since the last MFA (``None``: any MFA in this session).
    ``factors``: the factor types that count (``None``: any, recovery codes included).
    Use as ``@mfa_required`` or ``@mfa_required(max_age=300, factors=["WEBAUTHN"])``.
    """
    checked = _checked_factors(factors)

    def decorator(view_func: View) -> View:
        @wraps(view_func)
        def _wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return step_up_response(request, max_age, checked) or view_func(
                request, *args, **kwargs
            )

        return _wrapped

    return decorator(view) if view is not None else decorator


class MFARequiredMixin:
    """``mfa_required`` for class-based views: set ``mfa_max_age`` and ``mfa_factors``."""

    mfa_max_age: int | None = None
    mfa_factors: Iterable[str] | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        factors = _checked_factors(self.mfa_factors)
        response = step_up_response(request, self.mfa_max_age, factors)
        return response or super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
