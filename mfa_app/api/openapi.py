"""The OpenAPI 3 document of the API, built for the URL the app is mounted at.

``tests/test_api_schema.py`` runs schemathesis against it on a live server, so it stays true.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from .base import ApiView
from .openapi_schemas import (
    BOOLEAN,
    CODE,
    CREDENTIAL,
    INTEGER,
    JSON,
    NAME,
    NEXT,
    OPENAPI_VERSION,
    STRING,
    answer_types,
    factor_types,
    obj,
    ref,
    request_obj,
    schemas,
)
from .openapi_staff import staff_paths, staff_schemas

# What each status means, for every operation that may answer it.
ERRORS = {
    400: "Refused; nothing changed.",
    403: "Forbidden.",
    404: "Not found.",
    409: "Conflict.",
    429: "Too many attempts or sends: wait `Retry-After` seconds (if given).",
    502: "The SMS or email provider did not take the message.",
    503: "The database was too busy (locked): nothing was done; send it again after "
    "`Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
UNAUTHENTICATED = (
    "Not signed in (`not_authenticated`), a pending login's status (`MFA_REQUIRED`, "
    "`MFA_ENROLLMENT_REQUIRED`), or a pending login that ended (`challenge_expired`)."
)


def _response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


def operation(
    summary: str,
    ok: dict[int, Any],
    errors: dict[int, list[str]],
    *,
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    description: str = "",
) -> dict[str, Any]:
    """One operation: its successes (status → schema or ``None``) and its error codes."""
    responses = {
        str(status): _response("Success.", schema) if schema is not None else _response("Done.")
        for status, schema in ok.items()
    }
    # Any request may meet a locked database (SQLite under load).
    for status, codes in sorted({**errors, 503: ["busy"]}.items()):
        listed = ", ".join(f"`{code}`" for code in codes)
        response = _response(f"{ERRORS[status]} Codes: {listed}.", ref("Error"))
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        responses[str(status)] = response
    responses["401"] = _response(
        UNAUTHENTICATED,
        {"oneOf": [ref("Error"), ref("MFARequired"), ref("MFAEnrollmentRequired")]},
    )
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {JSON: {"schema": body}}}
    return op


# Every unsafe request: the CSRF check, and a JSON body that may be malformed.
UNSAFE = {400: ["invalid_request"], 403: ["csrf_failed"]}
ENROLL = {
    400: ["invalid_request"],
    403: ["csrf_failed", "factor_not_allowed", "reauthentication_required"],
}


def _merge(*tables: dict[int, list[str]]) -> dict[int, list[str]]:
    merged: dict[int, list[str]] = {}
    for table in tables:
        for status, codes in table.items():
            merged.setdefault(status, [])
            merged[status] += [c for c in codes if c not in merged[status]]
    return merged


def _enroll_paths() -> dict[str, Any]:
    enrolled = {201: ref("Enrolled")}
    confirm_errors = _merge(ENROLL, {400: ["invalid_code", "invalid_name", "challenge_expired"]})
    send_errors = _merge(
        ENROLL, {409: ["already_enrolled"], 429: ["rate_limited"], 502: ["delivery_failed"]}
    )
    code_confirm_errors = _merge(confirm_errors, {409: ["already_enrolled"], 429: ["rate_limited"]})
    return {
        "/enroll/totp/": {
            "post": operation(
                "Start adding an authenticator app: its secret, otpauth URI and QR code",
                {
                    200: obj(
                        ("secret", "otpauth_uri", "qr_code"),
                        secret=STRING,
                        otpauth_uri=STRING,
                        qr_code={**STRING, "description": "data:image/svg+xml;base64,..."},
                    )
                },
                ENROLL,
            )
        },
        "/enroll/totp/confirm/": {
            "post": operation(
                "Confirm the authenticator app with a current code",
                enrolled,
                confirm_errors,
                body=request_obj(("code",), code=CODE, name=NAME),
            )
        },
        "/enroll/webauthn/": {
            "post": operation(
                "Start adding a security key or passkey",
                {
                    200: obj(
                        ("options",),
                        options={
                            "type": "object",
                            "description": "PublicKeyCredentialCreationOptions (JSON).",
                        },
                    )
                },
                ENROLL,
            )
        },
        "/enroll/webauthn/confirm/": {
            "post": operation(
                "Save the security key from the browser's response",
                enrolled,
                confirm_errors,
                body=request_obj(("credential",), credential=CREDENTIAL, name=NAME),
            )
        },
        "/enroll/sms/": {
            "post": operation(
                "Text a code to a phone number to add",
                {202: ref("CodeSent")},
                _merge(send_errors, {400: ["invalid_phone_number"]}),
                body=request_obj(
                    ("phone_number",), phone_number={**STRING, "example": "+14155552671"}
                ),
            )
        },
        "/enroll/sms/confirm/": {
            "post": operation(
                "Save the phone once the code comes back",
                enrolled,
                _merge(code_confirm_errors, {400: ["invalid_phone_number"]}),
                body=request_obj(
                    ("phone_number", "code"), phone_number=STRING, code=CODE, name=NAME
                ),
            )
        },
        "/enroll/email/": {
            "post": operation(
                "Email a code to the account's address",
                {202: ref("CodeSent")},
                _merge(send_errors, {400: ["invalid_email_address"]}),
            )
        },
        "/enroll/email/confirm/": {
            "post": operation(
                "Save the email factor once the code comes back",
                enrolled,
                _merge(code_confirm_errors, {400: ["invalid_email_address"]}),
                body=request_obj(("code",), code=CODE, name=NAME),
            )
        },
        "/enroll/later/": {
            "post": operation(
                "Postpone enrollment (a pending login within its grace period)",
                {
                    200: obj(
                        ("status", "next", "grace_days_left"),
                        status={"type": "string", "enum": ["AUTHENTICATED"]},
                        next=NEXT,
                        grace_days_left=INTEGER,
                    )
                },
                _merge(ENROLL, {403: ["grace_period_over"]}),
            )
        },
    }


def _challenge_paths() -> dict[str, Any]:
    ended = {
        400: ["challenge_expired"],
        409: ["challenge_already_verified"],
        429: ["locked_out"],
    }
    factor = {"type": "string", "enum": answer_types()}
    return {
        "/challenge/": {
            "post": operation(
                "Open the challenge and prepare a way to answer it",
                {200: ref("ChallengePrepared"), 202: ref("ChallengePrepared")},
                _merge(
                    UNSAFE,
                    ended,
                    {
                        403: ["factor_not_allowed"],
                        404: ["factor_not_found"],
                        429: ["rate_limited"],
                        502: ["delivery_failed"],
                    },
                ),
                body=request_obj(factor=factor, device_id=STRING),
                body_required=False,
                description=(
                    "A pending login's challenge, or for a signed-in user a step-up challenge. "
                    "SMS and email: a new code is sent (202). WebAuthn: fresh options."
                ),
            )
        },
        "/challenge/verify/": {
            "post": operation(
                "Answer the challenge",
                {200: ref("Verified")},
                _merge(
                    UNSAFE,
                    ended,
                    {
                        400: ["invalid_code"],
                        403: ["factor_not_allowed"],
                        404: ["challenge_not_found"],
                        429: ["rate_limited"],
                    },
                ),
                body=request_obj(
                    ("challenge_id", "factor"),
                    challenge_id={"type": "string", "format": "uuid"},
                    factor=factor,
                    code=CODE,
                    credential=CREDENTIAL,
                    remember_device=BOOLEAN,
                ),
            )
        },
        "/challenge/cancel/": {
            "post": operation("Drop the pending login", {204: None}, UNSAFE),
        },
        "/reauthenticate/": {
            "post": operation(
                "Confirm it is still the signed-in user with the password",
                {
                    200: obj(
                        ("status", "recently_authenticated"),
                        status={"type": "string", "enum": ["AUTHENTICATED"]},
                        recently_authenticated=BOOLEAN,
                    )
                },
                _merge(
                    UNSAFE, {400: ["reauthentication_failed"], 429: ["rate_limited", "locked_out"]}
                ),
                body=request_obj(password=STRING, code=CODE),
            )
        },
    }


def _factor_paths() -> dict[str, Any]:
    disabled = {403: ["factor_not_allowed"]}
    one = obj(("factor",), factor=ref("Factor"))
    params = [
        {
            "name": "factor_type",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": factor_types()},
        },
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
        },
    ]
    return {
        "/factors/": {
            "get": operation(
                "The user's factors, primary first",
                {200: obj(("factors",), factors={"type": "array", "items": ref("Factor")})},
                disabled,
            )
        },
        "/factors/{factor_type}/{id}/": {
            "parameters": params,
            "get": operation(
                "One factor", {200: one}, _merge(disabled, {404: ["factor_not_found"]})
            ),
            "patch": operation(
                "Rename a factor",
                {200: one},
                _merge(UNSAFE, disabled, {400: ["invalid_name"], 404: ["factor_not_found"]}),
                body=request_obj(("name",), name=NAME),
            ),
            "delete": operation(
                "Remove a factor",
                {204: None},
                _merge(
                    UNSAFE,
                    disabled,
                    {
                        403: ["reauthentication_required"],
                        404: ["factor_not_found"],
                        409: ["last_factor_required"],
                    },
                ),
            ),
        },
        "/factors/{factor_type}/{id}/primary/": {
            "parameters": params,
            "post": operation(
                "Offer this factor first at challenges",
                {200: one},
                _merge(UNSAFE, disabled, {404: ["factor_not_found"]}),
            ),
        },
        "/recovery-codes/": {
            "get": operation(
                "How many recovery codes are left",
                {200: obj(("enabled", "remaining"), enabled=BOOLEAN, remaining=INTEGER)},
                disabled,
            ),
            "post": operation(
                "Generate new recovery codes (every earlier code stops working)",
                {201: obj(("codes",), codes={"type": "array", "items": STRING})},
                _merge(
                    UNSAFE,
                    disabled,
                    {403: ["reauthentication_required", "recovery_codes_disabled"]},
                ),
            ),
        },
        "/sessions/sign-out-others/": {
            "post": operation(
                "Sign out every other session of the user",
                {204: None},
                UNSAFE,
                description="This session stays signed in; no recent re-authentication needed.",
            ),
        },
    }


def _openapi_operation() -> dict[str, Any]:
    """This document: public, so no session and no 401."""
    op = operation(
        "This OpenAPI document",
        {200: {"type": "object", "required": ["openapi", "paths"]}},
        {},
    )
    del op["responses"]["401"]
    op["security"] = []
    return op


def document() -> dict[str, Any]:
    root = reverse("mfa_app:api:openapi").rsplit("/", 1)[0]
    csrf_header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    if csrf_header == "X-CSRFTOKEN":
        csrf_header = "X-CSRFToken"  # as Django's documentation spells the default
    paths: dict[str, Any] = {
        "/status/": {
            "get": operation(
                "Where the session stands (and the CSRF cookie)",
                {200: ref("Status")},
                {},
                description="Also sets the `csrftoken` cookie a client sends back as a header.",
            )
        },
        **_enroll_paths(),
        **_challenge_paths(),
        **_factor_paths(),
        **staff_paths(operation, _merge),
        "/openapi.json": {"get": _openapi_operation()},
    }
    for item in paths.values():
        for method, op in item.items():
            if method in ("post", "patch", "delete"):
                op["security"] = [{"session": [], "csrf": []}]
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "mfa_app JSON API",
            "version": "1",
            "description": "Multi-factor authentication for a session-authenticated client.",
        },
        "servers": [{"url": root}],
        "security": [{"session": []}],
        "paths": paths,
        "components": {
            "schemas": {**schemas(), **staff_schemas()},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": csrf_header,
                    "description": f"The `{settings.CSRF_COOKIE_NAME}` cookie's value.",
                },
            },
        },
    }


class OpenAPIView(ApiView):
    mfa_pending_allowed = True
    http_method_names = ["get", "head"]

    def authorize(self, request: HttpRequest) -> None:
        return None

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(document())
