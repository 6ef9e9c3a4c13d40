"""A token client's Authorization header, read for plain Django views (the staff API...)."""

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import claims


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
        user, auth = result
        if not getattr(user, "is_active", False):
            return None
        return user, claims.of_auth(user, auth) or claims.Proof(())
    return None
