"""A token client's Authorization header: DRF authenticators that honour a sign-out of every
session, and the reading plain Django views (the staff API...) and the factor endpoints use."""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework_simplejwt import authentication as jwt_authentication

from . import claims

SIGNED_OUT = _("This token was signed out. Sign in again.")


def _refuse_signed_out(result: tuple[Any, Any] | None) -> tuple[Any, Any] | None:
    if result is not None:
        proof = claims.issued_proof(*result)
        if proof is not None and claims.signed_out(result[0], proof):
            raise exceptions.AuthenticationFailed(SIGNED_OUT, code="signed_out")
    return result


class JWTAuthentication(jwt_authentication.JWTAuthentication):
    """Simple JWT's, refusing a token issued before the user signed every session out."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        return _refuse_signed_out(super().authenticate(request))


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's, refusing a key issued before the user signed every session out."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        return _refuse_signed_out(super().authenticate(request))


def authenticate_header(request: HttpRequest) -> tuple[Any, list[str], float | None] | None:
    found = token_user(request)
    if found is None:
        return None
    user, proof = found
    if not proof.mfa_verified:
        return user, list(proof.methods), None
    return user, list(proof.methods), proof.mfa_at


def token_user(request: HttpRequest) -> tuple[Any, claims.Proof] | None:
    """The active user of the request's token, and what the token says they proved."""
    drf_request = Request(request)
    for authenticator_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authenticator_class, SessionAuthentication):
            continue
        try:
            result = authenticator_class().authenticate(drf_request)
        except exceptions.APIException:
            return None
        if result is None:
            continue
        try:
            user, auth = _refuse_signed_out(result)
        except exceptions.AuthenticationFailed:
            return None
        if not getattr(user, "is_active", False):
            return None
        return user, claims.of_auth(user, auth) or claims.Proof(())
    return None
