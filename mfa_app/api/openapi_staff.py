"""The staff API's part of the OpenAPI document: its operations and the JSON they send."""

from collections.abc import Callable
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..factors import policy_names
from ..models import ApplicationPolicy, MFAEvent, Requirement
from ..policy import POLICY_FIELDS
from .openapi_schemas import (
    BOOLEAN,
    DATE_TIME,
    INTEGER,
    NULLABLE_DATE_TIME,
    NULLABLE_STRING,
    STRING,
    obj,
    ref,
)
from .staff import BYPASS_REASON_MAX_LENGTH
from .staff_events import MAX_PAGE_SIZE, PAGE_SIZE

Table = dict[int, list[str]]

SOURCES = ["application", "tenant", "staff_rule"]
# Every staff operation: not staff or without the permission, no (recent) MFA on the session.
GUARD = {403: ["permission_denied", "reauthentication_required", "mfa_enrollment_required"]}
WRITE = {400: ["invalid_request"], 403: ["csrf_failed"]}
ON_USER = {404: ["user_not_found"]}
DESCRIPTION = (
    "Staff only: an active staff member whose session passed MFA ({when}), with the Django "
    "permissions {perms} (a change permission also grants the view one)."
)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _bounds(field: models.Field) -> dict[str, int]:
    lows = [v.limit_value for v in field.validators if isinstance(v, MinValueValidator)]
    highs = [v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)]
    return {"minimum": max(lows, default=0), **({"maximum": min(highs)} if highs else {})}


def setting_schema(name: str) -> dict[str, Any]:
    """One policy setting's JSON, with the limits the validation holds it to."""
    if name == "requirement":
        return {"type": "string", "enum": list(Requirement.values)}
    if name == "allowed_factors":
        return {"type": "array", "items": {"type": "string", "enum": policy_names()}}
    field = ApplicationPolicy._meta.get_field(name)
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.IntegerField):
        return {"type": "integer", **_bounds(field)}
    return {"type": "string", "maxLength": field.max_length}


def staff_schemas() -> dict[str, Any]:
    settings = {name: setting_schema(name) for name in POLICY_FIELDS}
    factor = obj(
        ("type", "name", "primary", "destination", "added", "last_used"),
        type=STRING,
        name=STRING,
        primary=BOOLEAN,
        destination=STRING,
        added=NULLABLE_DATE_TIME,
        last_used=NULLABLE_DATE_TIME,
    )
    explained = {
        name: obj(("value", "from"), value=schema, **{"from": {"type": "string", "enum": SOURCES}})
        for name, schema in settings.items()
    }
    bypass = obj(
        ("until", "reason", "granted_by"), until=DATE_TIME, reason=STRING, granted_by=STRING
    )
    return {
        "UserMFAStatus": obj(
            (
                "user",
                "enabled",
                "policy",
                "factors",
                "recovery_codes_remaining",
                "remembered_devices",
                "lockout",
                "bypass",
            ),
            user=obj(("id", "username"), id=STRING, username=STRING),
            enabled=BOOLEAN,
            policy=obj(
                ("requirement", "source", "tenant", "staff_rule", "settings"),
                requirement=settings["requirement"],
                source={"type": "string", "enum": ["application", "tenant"]},
                tenant=NULLABLE_STRING,
                staff_rule=BOOLEAN,
                settings=obj(tuple(POLICY_FIELDS), **explained),
            ),
            factors={"type": "array", "items": factor},
            recovery_codes_remaining=INTEGER,
            remembered_devices=INTEGER,
            lockout=obj(
                ("failed_attempts", "locked_until"),
                failed_attempts=INTEGER,
                locked_until=NULLABLE_DATE_TIME,
            ),
            bypass=_nullable(bypass),
        ),
        "Bypass": bypass,
        "PolicyReport": obj(
            ("scope", "tenant", "override", "policy", "staff_always_required"),
            scope={"type": "string", "enum": ["application", "tenant"]},
            tenant=_nullable(obj(("id", "name"), id=STRING, name=STRING)),
            override={**BOOLEAN, "nullable": True},
            policy=_nullable(obj(tuple(POLICY_FIELDS), **settings)),
            staff_always_required=BOOLEAN,
        ),
        "AuditEvent": obj(
            (
                "id",
                "time",
                "kind",
                "user_id",
                "username",
                "tenant",
                "factor_type",
                "actor",
                "ip_address",
                "user_agent",
                "details",
            ),
            id=INTEGER,
            time=DATE_TIME,
            kind={"type": "string", "enum": list(MFAEvent.Kind.values)},
            user_id=NULLABLE_STRING,
            username=STRING,
            tenant=STRING,
            factor_type=STRING,
            actor={**STRING, "description": "The staff member who did it, if not the user."},
            ip_address=NULLABLE_STRING,
            user_agent=STRING,
            details={"type": "object", "description": "What happened; never a code or secret."},
        ),
    }


def _policy_body(*, tenant: bool) -> dict[str, Any]:
    settings = {name: setting_schema(name) for name in POLICY_FIELDS}
    if tenant:
        settings["override"] = {
            **BOOLEAN,
            "description": "Whether it applies; changing a setting turns it on unless false.",
        }
    return {**obj((), **settings), "minProperties": 1}


def _param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _described(op: dict[str, Any], when: str, perms: str) -> dict[str, Any]:
    extra = op.get("description", "")
    op["description"] = (DESCRIPTION.format(when=when, perms=perms) + " " + extra).strip()
    return op


def staff_paths(operation: Callable[..., dict[str, Any]], merge: Callable[..., Table]) -> dict:
    """``/staff/...``: built with the document's own ``operation`` and ``merge``."""
    ever, recent = "at sign-in or since", "within `MFA_REAUTHENTICATION_TIMEOUT`"
    read_user = "`view_<user model>` and `mfa_app.view_userstate`"
    change_user = "`change_<user model>` and `mfa_app.change_userstate`"
    status = ref("UserMFAStatus")
    policy = ref("PolicyReport")
    write_user = merge(GUARD, WRITE, ON_USER)
    return {
        "/staff/users/{user_id}/": {
            "parameters": [_param("user_id", "The user's primary key.")],
            "get": _described(
                operation(
                    "A user's MFA: policy and its sources, factors, codes left, lockout, bypass",
                    {200: status},
                    merge(GUARD, ON_USER),
                ),
                ever,
                read_user,
            ),
        },
        "/staff/users/{user_id}/reset/": {
            "parameters": [_param("user_id", "The user's primary key.")],
            "post": _described(
                operation(
                    "Reset a user's MFA: every factor and recovery code removed",
                    {200: status},
                    write_user,
                    description=(
                        "Also ends their unfinished sign-ins and revokes their remembered "
                        "devices; audited (`reset`, via `api`) and the user is emailed. Only a "
                        "superuser resets a superuser."
                    ),
                ),
                recent,
                change_user,
            ),
        },
        "/staff/users/{user_id}/bypass/": {
            "parameters": [_param("user_id", "The user's primary key.")],
            "post": _described(
                operation(
                    "Let a user sign in without MFA until a time (at most 30 days)",
                    {201: obj(("bypass",), bypass=ref("Bypass"))},
                    merge(write_user, {400: ["invalid_bypass"]}),
                    body={
                        **obj(
                            ("until", "reason"),
                            until={
                                **DATE_TIME,
                                "description": "Without an offset: the site's time zone.",
                            },
                            reason={**STRING, "maxLength": BYPASS_REASON_MAX_LENGTH},
                        ),
                        "additionalProperties": True,
                    },
                    description="Nobody grants one to themselves. Audited (`bypass_granted`).",
                ),
                recent,
                change_user,
            ),
            "delete": _described(
                operation(
                    "End a user's running bypass",
                    {204: None},
                    merge(write_user, {404: ["bypass_not_found"]}),
                ),
                recent,
                change_user,
            ),
        },
        "/staff/policy/": {
            "get": _described(
                operation("The application policy", {200: policy}, GUARD),
                ever,
                "`mfa_app.view_applicationpolicy`",
            ),
            "patch": _described(
                operation(
                    "Change settings of the application policy",
                    {200: policy},
                    merge(GUARD, WRITE, {400: ["invalid_policy"]}),
                    body=_policy_body(tenant=False),
                    description=(
                        "Checked as the admin checks them; a bad value (`field` names it) "
                        "changes nothing. Audited (`policy_changed`, via `api`)."
                    ),
                ),
                recent,
                "`mfa_app.change_applicationpolicy`",
            ),
        },
        "/staff/tenants/{tenant_id}/policy/": {
            "parameters": [_param("tenant_id", "The tenant's primary key.")],
            "get": _described(
                operation(
                    "A tenant's own policy (`policy` null: it has none)",
                    {200: policy},
                    merge(GUARD, {404: ["tenant_not_found"]}),
                ),
                ever,
                "`mfa_app.view_tenantpolicy`",
            ),
            "patch": _described(
                operation(
                    "Change settings of a tenant's policy (created from the application's)",
                    {200: policy},
                    merge(GUARD, WRITE, {400: ["invalid_policy"], 404: ["tenant_not_found"]}),
                    body=_policy_body(tenant=True),
                    description=(
                        "Changing a setting turns the override on unless `override` is false. "
                        "Creating the tenant's policy also needs `mfa_app.add_tenantpolicy`."
                    ),
                ),
                recent,
                "`mfa_app.change_tenantpolicy`",
            ),
        },
        "/staff/events/": {
            "get": {
                **_described(
                    operation(
                        "The audit log, newest first, a page at a time",
                        {
                            200: obj(
                                ("events", "next_cursor"),
                                events={"type": "array", "items": ref("AuditEvent")},
                                next_cursor={
                                    **NULLABLE_STRING,
                                    "description": "Pass as `cursor` for the next page.",
                                },
                            )
                        },
                        merge(GUARD, {400: ["invalid_query"]}),
                        description="An unknown or repeated query parameter is `invalid_query`.",
                    ),
                    ever,
                    "`mfa_app.view_mfaevent`",
                ),
                "parameters": [
                    _query("user", STRING, "A user's primary key."),
                    _query("kind", STRING, "Event kinds, comma-separated (`failed,locked_out`)."),
                    _query("tenant", STRING, "The tenant's name, as the events keep it."),
                    _query("actor", STRING, "The staff member's username."),
                    _query("since", DATE_TIME, "Events at or after this time."),
                    _query("until", DATE_TIME, "Events before this time."),
                    _query("cursor", STRING, "The `next_cursor` of the page before."),
                    _query(
                        "page_size",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                        f"Events per page (default {PAGE_SIZE}).",
                    ),
                ],
            }
        },
    }
