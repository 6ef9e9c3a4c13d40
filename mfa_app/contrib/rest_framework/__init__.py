"""Token clients (Django REST framework, Simple JWT) under MFA: the ``mfa-app[drf]`` extra.

Their obtain views never call ``login()``, so mfa_app's gate on it never sees them. The views
here answer an enrolled user's password with the JSON API's ``MFA_REQUIRED`` body and a signed
challenge token; answering the challenge with it (``challenge/verify/``) issues the tokens,
with claims saying how and when MFA was passed (``claims``), which ``IsMFAVerified`` reads.
"""

from typing import Any

from django.http import HttpRequest


def authenticate(request: HttpRequest) -> tuple[Any, list[str], float | None] | None:
    """Authenticate ``request``'s Authorization header with the site's DRF authenticators.

    Returns ``(user, mfa_methods, mfa_at)``: the ``amr`` methods the token's holder proved and
    when MFA was passed (``None``: not with this token); ``None`` for no token, or a bad one.
    Sessions are left out: a plain view reads those through ``mfa_app.login_state``.
    """
    from .authentication import authenticate_header

    return authenticate_header(request)
