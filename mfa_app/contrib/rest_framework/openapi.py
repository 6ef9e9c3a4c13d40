"""The OpenAPI 3 document of the token endpoints, for the URL they are mounted at.

Built from the JSON API's own pieces (``mfa_app.api.openapi``): the challenge steps answer the
same bodies and errors. ``tests/test_drf_schema.py`` runs schemathesis against it.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from ...api.base import ApiView
from ...api.openapi import _enroll_paths, _factor_paths, operation
from ...api.openapi_schemas import (
    BOOLEAN,
    CODE,
    CREDENTIAL,
    INTEGER,
    OPENAPI_VERSION,
    STRING,
    answer_types,
    obj,
    ref,
    request_obj,
    schemas,
)

CHALLENGE_TOKEN = {**STRING, "description": "The `challenge_token` the obtain view answered."}
DEVICE_TOKEN = {**STRING, "description": "A remembered device's `device_token`."}
# DRF's own answers to bad credentials or a malformed body: ``{"detail": ...}`` or per field.
DRF_ERROR = {"type": "object", "description": "Django REST framework's own error body."}
DRF_DETAIL = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": STRING},
    "description": "A wrong password: Simple JWT's own answer.",
}
# A token client signed in: Simple JWT's access token, or a key of DRF's TokenAuthentication.
SIGNED_IN = [{"bearer": []}, {"drfToken": []}]
ENDED = {400: ["challenge_expired"], 409: ["challenge_already_verified"], 429: ["locked_out"]}
UNAUTHENTICATED = (
    "The sign-in needs MFA first (`MFA_REQUIRED`, `MFA_ENROLLMENT_REQUIRED`, with a "
    "`challenge_token`), or the challenge token is no good (`challenge_expired`)."
)


def _pending(name: str) -> dict[str, Any]:
    """The JSON API's pending-login status, plus the challenge token that carries it."""
    schema = schemas()[name]
    return {
        **schema,
        "properties": {**schema["properties"], "challenge_token": CHALLENGE_TOKEN},
        "required": [*schema["required"], "challenge_token"],
    }


def _merge(*tables: dict[int, list[str]]) -> dict[int, list[str]]:
    merged: dict[int, list[str]] = {}
    for table in tables:
        for status, codes in table.items():
            merged.setdefault(status, [])
            merged[status] += [c for c in codes if c not in merged[status]]
    return merged


def _token_operation(summary: str, ok: dict[int, Any], errors: dict, **kwargs: Any) -> dict:
    return _for_tokens(operation(summary, ok, errors, **kwargs))


def _for_tokens(op: dict[str, Any]) -> dict[str, Any]:
    """A JSON API operation as a token client calls it: no session, tokens' 401s."""
    op["responses"]["401"] = {
        "description": UNAUTHENTICATED,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        ref("Error"),
                        ref("TokenMFARequired"),
                        ref("TokenMFAEnrollmentRequired"),
                    ]
                }
            }
        },
    }
    op["security"] = []
    return op


def _obtain(
    summary: str, tokens: dict[str, Any], drf_400: str, username: str = "username"
) -> dict[str, Any]:
    op = _token_operation(
        summary,
        {200: tokens},
        {},
        body=request_obj((username, "password"), **{username: STRING}, password=STRING),
        description=(
            "A sign-in that needs MFA is answered 401 with the JSON API's pending status and a "
            "`challenge_token`; `device_token` (a remembered device) may skip the challenge."
        ),
    )
    op["requestBody"]["content"]["application/json"]["schema"]["properties"]["device_token"] = (
        DEVICE_TOKEN
    )
    op["responses"]["400"] = {
        "description": drf_400,
        "content": {"application/json": {"schema": DRF_ERROR}},
    }
    op["responses"]["401"]["content"]["application/json"]["schema"]["oneOf"].append(DRF_DETAIL)
    return op


TOKENS = {"access": STRING, "refresh": STRING, "token": STRING}


def _enrollment_paths() -> dict[str, Any]:
    """The JSON API's enrollment, for a pending login its challenge token carries."""
    paths = _enroll_paths()
    for item in paths.values():
        op = _for_tokens(item["post"])
        body = op.setdefault(
            "requestBody",
            {"required": True, "content": {"application/json": {"schema": request_obj()}}},
        )
        body["required"] = True
        schema = body["content"]["application/json"]["schema"]
        schema["properties"] = {"challenge_token": CHALLENGE_TOKEN, **schema["properties"]}
        schema["required"] = ["challenge_token", *schema.get("required", [])]
        if "201" in op["responses"]:
            op["responses"]["201"]["content"]["application/json"]["schema"] = ref("TokenEnrolled")
    later = paths["/enroll/later/"]["post"]["responses"]["200"]["content"]["application/json"]
    later["schema"] = obj(
        ("status", "grace_days_left"),
        status={"type": "string", "enum": ["AUTHENTICATED"]},
        grace_days_left=INTEGER,
        **TOKENS,
    )
    return paths


def _signed_in_paths() -> dict[str, Any]:
    """The JSON API's status and factor management, for a token client's token."""
    paths = {
        "/status/": {
            "get": operation(
                "The token's user's MFA: factors, recovery codes, policy", {200: ref("Status")}, {}
            )
        },
        **_factor_paths(),
    }
    del paths["/sessions/sign-out-others/"]
    for item in paths.values():
        for method, op in item.items():
            if method != "parameters":
                op["security"] = SIGNED_IN
    return paths


def _enrolled() -> dict[str, Any]:
    return obj(
        ("factor", "recovery_codes", "status"),
        factor=ref("Factor"),
        recovery_codes={"type": "array", "items": STRING},
        status={"type": "string", "enum": ["AUTHENTICATED"]},
        **TOKENS,
    )


def _verified() -> dict[str, Any]:
    tokens = TOKENS
    return obj(
        ("valid", "status", "device_remembered"),
        valid={"type": "boolean", "enum": [True]},
        status={"type": "string", "enum": ["AUTHENTICATED"]},
        device_remembered=BOOLEAN,
        device_token=DEVICE_TOKEN,
        recovery_codes={"type": "array", "items": STRING},
        **tokens,
    )


def paths() -> dict[str, Any]:
    factor = {"type": "string", "enum": answer_types()}
    unsafe = {400: ["invalid_request"]}
    pair = obj(("access", "refresh"), access=STRING, refresh=STRING)
    found = {
        "/token/": {
            "post": _obtain(
                "Simple JWT's access and refresh tokens, after MFA where it is needed",
                pair,
                "Missing or malformed fields (DRF's answer).",
                # Simple JWT asks for the user model's USERNAME_FIELD.
                username=get_user_model().USERNAME_FIELD,
            )
        },
        "/challenge/": {
            "post": _token_operation(
                "Prepare a way to answer the challenge: send a code, or WebAuthn options",
                {200: ref("ChallengePrepared"), 202: ref("ChallengePrepared")},
                _merge(
                    unsafe,
                    ENDED,
                    {
                        403: ["factor_not_allowed"],
                        404: ["factor_not_found"],
                        429: ["rate_limited"],
                        502: ["delivery_failed"],
                    },
                ),
                body=request_obj(
                    ("challenge_token",),
                    challenge_token=CHALLENGE_TOKEN,
                    factor=factor,
                    device_id=STRING,
                ),
            )
        },
        "/challenge/verify/": {
            "post": _token_operation(
                "Answer the challenge: the tokens asked for at the password step",
                {200: ref("TokenVerified")},
                _merge(
                    unsafe,
                    ENDED,
                    {400: ["invalid_code"], 403: ["factor_not_allowed"], 429: ["rate_limited"]},
                ),
                body=request_obj(
                    ("challenge_token", "factor"),
                    challenge_token=CHALLENGE_TOKEN,
                    factor=factor,
                    code=CODE,
                    credential=CREDENTIAL,
                    remember_device=BOOLEAN,
                ),
            )
        },
        "/challenge/cancel/": {
            "post": _token_operation(
                "End the pending login: its challenge token answers nothing afterwards",
                {204: None},
                unsafe,
                body=request_obj(("challenge_token",), challenge_token=CHALLENGE_TOKEN),
            )
        },
        **_enrollment_paths(),
        **_signed_in_paths(),
    }
    if apps.is_installed("rest_framework.authtoken"):
        found["/auth-token/"] = {
            "post": _obtain(
                "A key for DRF's TokenAuthentication, after MFA where it is needed",
                obj(("token",), token=STRING),
                "Wrong credentials or malformed fields (DRF's answer).",
            )
        }
    return found


def document() -> dict[str, Any]:
    root = reverse("mfa_token:openapi").rsplit("/", 1)[0]
    components = {
        **schemas(),
        "TokenMFARequired": _pending("MFARequired"),
        "TokenMFAEnrollmentRequired": _pending("MFAEnrollmentRequired"),
        "TokenVerified": _verified(),
        "TokenEnrolled": _enrolled(),
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "mfa_app token clients",
            "version": "1",
            "description": "Sign-in with MFA for clients of Simple JWT or DRF's tokens.",
        },
        "servers": [{"url": root}],
        "security": [],
        "paths": paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "drfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <key>`: DRF's TokenAuthentication.",
                },
            },
        },
    }


class OpenAPIView(ApiView):
    http_method_names = ["get", "head"]

    def authorize(self, request: HttpRequest) -> None:
        return None

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(document())
