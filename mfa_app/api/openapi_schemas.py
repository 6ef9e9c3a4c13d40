"""The OpenAPI document's building blocks and its component schemas (the JSON the API sends)."""

from typing import Any

from ..factors import fallback_factor, policy_names, second_factors

OPENAPI_VERSION = "3.0.3"
JSON = "application/json"


# Asked of the registry each time the document is built, so a factor a site registers shows.
def factor_types() -> list[str]:
    """The types of the registered second factors, in menu order (``/factors/<type>/``)."""
    return [str(f.type) for f in sorted(second_factors(), key=lambda f: f.order)]


def answer_types() -> list[str]:
    """What answers a challenge: the second factors' types, then the fallback's (recovery codes)."""
    return [*factor_types(), str(fallback_factor().type)]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """A JSON object with exactly these properties (responses list every key they send)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def request_obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """A request body: unknown keys are ignored."""
    return {**obj(required, **properties), "additionalProperties": True}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = {**DATE_TIME, "nullable": True}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer", "minimum": 0}
CODE = {"type": "string", "minLength": 1, "maxLength": 64, "example": "123456"}
NAME = {"type": "string", "maxLength": 64, "example": "Work phone"}
NEXT = {**NULLABLE_STRING, "description": "The safe URL the sign-in was headed to, if any."}
CREDENTIAL = {
    "description": "What the browser's `PublicKeyCredential.toJSON()` returns (or its JSON).",
    "oneOf": [{"type": "object"}, {"type": "string", "minLength": 1}],
}


def schemas() -> dict[str, Any]:
    """The component schemas: the JSON the API sends."""
    return {
        "Error": obj(
            ("error",),
            error=obj(
                ("code", "message"),
                code={**STRING, "example": "invalid_code"},
                message=STRING,
                attempts_left=INTEGER,
                retry_after=INTEGER,
                locked_until=DATE_TIME,
                max_length=INTEGER,
                field=STRING,
                reauthenticate_with={"type": "string", "enum": ["challenge", "password"]},
                url={**STRING, "description": "Where to go first (add a factor, step up)."},
            ),
            valid={"type": "boolean", "enum": [False]},
        ),
        "Factor": obj(
            ("id", "type", "name", "primary", "destination", "created_at", "last_used_at"),
            id={**STRING, "example": "3"},
            type={"type": "string", "enum": factor_types()},
            name=STRING,
            primary=BOOLEAN,
            destination={**NULLABLE_STRING, "example": "***-***-1234"},
            created_at=NULLABLE_DATE_TIME,
            last_used_at=NULLABLE_DATE_TIME,
        ),
        "ChallengeFactor": obj(
            ("type", "primary"),
            type={"type": "string", "enum": answer_types()},
            primary=BOOLEAN,
            device_id={**STRING, "description": "SMS and email: which phone or address."},
            destination=NULLABLE_STRING,
        ),
        "Challenge": obj(
            ("id", "expires_at", "factors"),
            id={"type": "string", "format": "uuid"},
            expires_at=DATE_TIME,
            factors={"type": "array", "items": ref("ChallengeFactor")},
        ),
        "MFARequired": obj(
            ("status", "url", "challenge"),
            status={"type": "string", "enum": ["MFA_REQUIRED"]},
            url={**STRING, "description": "The HTML challenge page."},
            challenge=ref("Challenge"),
        ),
        "MFAEnrollmentRequired": obj(
            ("status", "url", "allowed_factors", "expires_at", "grace_days_left"),
            status={"type": "string", "enum": ["MFA_ENROLLMENT_REQUIRED"]},
            url={**STRING, "description": "The HTML enrollment page."},
            allowed_factors={"type": "array", "items": {"type": "string", "enum": policy_names()}},
            expires_at=DATE_TIME,
            grace_days_left=INTEGER,
        ),
        "Status": obj(
            (
                "status",
                "enabled",
                "factors",
                "recovery_codes_remaining",
                "allowed_factors",
                "recently_authenticated",
                "policy",
            ),
            status={"type": "string", "enum": ["AUTHENTICATED"]},
            enabled=BOOLEAN,
            factors={"type": "array", "items": ref("Factor")},
            recovery_codes_remaining=INTEGER,
            allowed_factors={"type": "array", "items": {"type": "string", "enum": policy_names()}},
            recently_authenticated=BOOLEAN,
            policy=obj(
                (
                    "mode",
                    "allowed_factors",
                    "recovery_codes_enabled",
                    "trusted_devices_enabled",
                    "trusted_device_days",
                ),
                mode={
                    "type": "string",
                    "enum": ["DISABLED", "OPTIONAL", "REQUIRED", "RISK_BASED"],
                },
                allowed_factors={
                    "type": "array",
                    "items": {"type": "string", "enum": policy_names()},
                },
                recovery_codes_enabled=BOOLEAN,
                trusted_devices_enabled=BOOLEAN,
                trusted_device_days=INTEGER,
            ),
        ),
        "Enrolled": obj(
            ("factor", "recovery_codes", "status", "next"),
            factor=ref("Factor"),
            recovery_codes={
                "type": "array",
                "items": STRING,
                "description": (
                    "The first recovery codes, shown this once (empty if none were made)."
                ),
            },
            status={"type": "string", "enum": ["AUTHENTICATED"]},
            next=NEXT,
        ),
        "CodeSent": obj(
            ("sent_to", "expires_in"),
            sent_to={**STRING, "example": "***-***-1234"},
            expires_in={**INTEGER, "description": "Seconds the code stays valid."},
            phone_number={**STRING, "description": "SMS: the number in E.164, to confirm with."},
        ),
        "ChallengePrepared": obj(
            ("challenge",),
            challenge=ref("Challenge"),
            factor={"type": "string", "enum": answer_types()},
            device_id=STRING,
            sent_to=STRING,
            webauthn_options={
                "type": "object",
                "description": "PublicKeyCredentialRequestOptions (JSON), for credentials.get().",
            },
        ),
        "Verified": obj(
            ("valid", "status", "next", "device_remembered"),
            valid={"type": "boolean", "enum": [True]},
            status={"type": "string", "enum": ["AUTHENTICATED"]},
            next=NEXT,
            device_remembered=BOOLEAN,
            recovery_codes={
                "type": "array",
                "items": STRING,
                "description": (
                    "Only when the last recovery code was used: the new set, shown once."
                ),
            },
        ),
    }
