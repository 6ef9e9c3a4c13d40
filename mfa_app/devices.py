"""Browsers: one random token per browser in a signed cookie, for trusted devices and risk.

The token is a 256-bit secret from ``secrets``. The browser keeps it in a signed, HttpOnly,
SameSite=Lax cookie (on HTTPS: Secure, ``__Host-``-prefixed, Path=/, no Domain); the database
keeps only a keyed hash of it, per user.
A tampered cookie fails its signature, a copied one is useless to another account, and trust
ends at the row's ``expires_at`` or ``revoked_at`` whatever the cookie says.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from . import clock
from .conf import app_settings
from .models import TrustedDevice

COOKIE_SALT = "mfa_app.device"
# Browsers keep cookies at most 400 days; the cookie is re-sent at every sign-in.
COOKIE_MAX_AGE = 400 * 24 * 3600
_NEW_TOKEN = "_mfa_new_device_token"  # noqa: S105 (an attribute name)
# The token a client without cookies (a token client's remembered-device token) sent instead.
_GIVEN_TOKEN = "_mfa_given_device_token"  # noqa: S105 (an attribute name)
TOKEN_LENGTH = 43
HOST_PREFIX = "__Host-"


def cookie_name(request: HttpRequest) -> str:
    """The device cookie's name for ``request``: ``__Host-`` + the setting's on HTTPS.

    Browsers keep a ``__Host-`` cookie only if it is Secure, has Path=/ and no Domain, so a
    sibling subdomain or a plain-HTTP page cannot plant or overwrite it. Plain HTTP (local
    development) cannot set such a cookie at all: there the name is the setting's.
    """
    name = app_settings.DEVICE_COOKIE_NAME
    if request.is_secure() and app_settings.DEVICE_COOKIE_HOST_PREFIX and not name.startswith("__"):
        return HOST_PREFIX + name
    return name


def browser_token(request: HttpRequest | None, *, create: bool = False) -> str | None:
    """This browser's token, or a new one (set on the response by the middleware) if asked."""
    if request is None:
        return None
    token = getattr(request, _NEW_TOKEN, None) or getattr(request, _GIVEN_TOKEN, None)
    if token is None:
        try:
            token = request.get_signed_cookie(
                cookie_name(request), salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE
            )
        except (KeyError, signing.BadSignature):
            token = None
        if token is not None and not _well_formed(token):
            token = None
    if token is None and create:
        token = secrets.token_urlsafe(32)
        setattr(request, _NEW_TOKEN, token)
    return token


def _well_formed(token: Any) -> bool:
    return isinstance(token, str) and len(token) == TOKEN_LENGTH and token.isascii()


def present_token(request: HttpRequest, token: str) -> None:
    """Read ``token`` as this request's browser token: a client that keeps no cookie sent it."""
    if _well_formed(token):
        setattr(request, _GIVEN_TOKEN, token)


def take_new_token(request: HttpRequest) -> str | None:
    """The token minted during this request, handed to a client that keeps no cookie.

    Taken, it is not set as a cookie on the response as well.
    """
    token = getattr(request, _NEW_TOKEN, None)
    if token is not None:
        delattr(request, _NEW_TOKEN)
        setattr(request, _GIVEN_TOKEN, token)
    return token


def token_digest(token: str | None) -> str:
    if not token:
        return ""
    return salted_hmac("mfa_app.device-token", token, algorithm="sha256").hexdigest()


def set_cookie_if_new(request: HttpRequest, response: HttpResponse) -> None:
    """Give the browser the token minted during this request (called by the middleware)."""
    token = getattr(request, _NEW_TOKEN, None)
    if token is None:
        return
    response.set_signed_cookie(
        cookie_name(request),
        token,
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        path="/",
        domain=None,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def trusted_device(user: Any, request: HttpRequest | None) -> TrustedDevice | None:
    """The unexpired, unrevoked trust this browser holds for ``user``, if any."""
    digest = token_digest(browser_token(request))
    if not digest:
        return None
    return TrustedDevice.objects.filter(
        user=user, token_digest=digest, revoked_at__isnull=True, expires_at__gt=clock.now()
    ).first()


def remember(user: Any, request: HttpRequest, days: int) -> TrustedDevice:
    """Trust this browser for ``user`` for ``days`` days (renewing any earlier trust)."""
    from .client_ip import client_ip

    now = clock.now()
    device, _created = TrustedDevice.objects.update_or_create(
        user=user,
        token_digest=token_digest(browser_token(request, create=True)),
        defaults={
            "created_at": now,
            "expires_at": now + timedelta(days=days),
            "revoked_at": None,
            "last_used_at": None,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "ip_address": client_ip(request),
        },
    )
    return device
