"""The staff API: any user's MFA status, reset and bypass, and the policies, for operators.

Who may call it (``StaffView.guard``): an active staff member, signed in with MFA on this
session, holding the Django permissions the operation names (``permissions``; a view
permission is also granted by the change permission, as in the admin). Writes need MFA within
``MFA_REAUTHENTICATION_TIMEOUT``: a reset, a bypass or a policy change lowers other people's
protection, so a staff session left open (or stolen) must prove its second factor again, as a
user must before removing their own factor. Each write calls the service the admin calls, and
so is audited with the staff member as the actor.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .. import clock, errors, services
from ..conf import app_settings
from ..flows.step_up import mfa_verified, step_up_methods
from ..models import ApplicationPolicy
from ..policy import POLICY_FIELDS
from ..tenants import tenant_by_id
from .base import SAFE_METHODS, ApiView, check_csrf, read_json
from .responses import (
    BypassNotFound,
    InvalidPolicy,
    InvalidRequest,
    MethodNotAllowed,
    NotAuthenticated,
    PermissionDenied,
    TenantNotFound,
    UserNotFound,
)

# ``USER`` stands for the user model in ``permissions`` (``auth.user``, or the site's own).
USER = "user"
BYPASS_REASON_MAX_LENGTH = 300
TYPE_MESSAGES = {
    bool: _("Give true or false."),
    int: _("Give a whole number."),
    str: _("Give a string."),
    list: _("Give a list of factor types."),
}


@dataclass(frozen=True)
class StaffMember:
    """Who calls the staff API, and how recently they passed MFA."""

    user: Any
    # ``mfa_verified(max_age)``: whether MFA was passed within ``max_age`` seconds (None: ever).
    mfa_verified: Callable[[int | None], bool]


def staff_member(request: HttpRequest) -> StaffMember:
    """The caller of the staff API: the one place that decides who it is.

    A token's holder when the request carries one and ``MFA_TOKEN_AUTHENTICATOR`` is set (its
    user and its token's MFA claim); otherwise the session's user, with Django's CSRF check on
    unsafe methods and the session's MFA.
    A pending login never gets here: the middleware answers it with its status.
    """
    if app_settings.TOKEN_AUTHENTICATOR and request.headers.get("Authorization"):
        return _token_holder(request)
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS:
        check_csrf(request)
    return StaffMember(request.user, lambda max_age: mfa_verified(request, max_age))


def _token_holder(request: HttpRequest) -> StaffMember:
    """A token client: ``MFA_TOKEN_AUTHENTICATOR`` names the user and when MFA was passed.

    No CSRF check: a browser never adds an Authorization header to another site's request.
    """
    authenticator = app_settings.TOKEN_AUTHENTICATOR
    if isinstance(authenticator, str):
        authenticator = import_string(authenticator)
    found = authenticator(request)
    if found is None:
        raise NotAuthenticated()
    user, _methods, mfa_at = found

    def verified(max_age: int | None) -> bool:
        if mfa_at is None:
            return False
        return max_age is None or clock.now().timestamp() - mfa_at <= max_age

    return StaffMember(user, verified)


def has_permission(user: Any, model: str, action: str) -> bool:
    """``user`` may ``action`` (``view`` or ``change``) ``model`` (``"mfa_app.userstate"``)."""
    if model == USER:
        model = get_user_model()._meta.label_lower
    app_label, name = model.split(".")
    if user.has_perm(f"{app_label}.change_{name}"):
        return True
    return action == "view" and user.has_perm(f"{app_label}.view_{name}")


class StaffView(ApiView):
    """A staff operation; ``permissions`` maps a method to the (model, action) pairs it needs."""

    permissions: dict[str, tuple[tuple[str, str], ...]] = {}
    staff: StaffMember

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            raise MethodNotAllowed()
        self.staff = staff_member(request)
        self.user = self.staff.user
        self.guard(request)
        self.data = read_json(request)
        return handler(request, *args, **kwargs)

    def guard(self, request: HttpRequest) -> None:
        user = self.user
        if not (user.is_active and user.is_staff):
            raise PermissionDenied()
        # Before the permissions: a session without MFA learns nothing of what it may do.
        writes = request.method not in SAFE_METHODS
        if not self.staff.mfa_verified(app_settings.REAUTHENTICATION_TIMEOUT if writes else None):
            if step_up_methods(user):
                raise errors.ReauthenticationRequired(reauthenticate_with="challenge")
            raise errors.EnrollmentRequired(url=reverse("mfa_app:security"))
        method = "get" if request.method == "HEAD" else request.method.lower()
        if not all(has_permission(user, *needed) for needed in self.permissions.get(method, ())):
            raise PermissionDenied()

    def subject(self, user_id: str, *, changing: bool = False) -> Any:
        """The user the operation is about; only a superuser changes a superuser's MFA."""
        subject = services.user_by_id(user_id)
        if subject is None:
            raise UserNotFound()
        if changing and subject.is_superuser and not self.user.is_superuser:
            # Staff cannot lower the protection of an account that holds more power than theirs.
            raise PermissionDenied()
        return subject


READ_USER = ((USER, "view"), ("mfa_app.userstate", "view"))
CHANGE_USER = ((USER, "change"), ("mfa_app.userstate", "change"))


class UserStatusView(StaffView):
    http_method_names = ["get", "head"]
    permissions = {"get": READ_USER}

    def get(self, request: HttpRequest, user_id: str) -> JsonResponse:
        return JsonResponse(services.user_status(self.subject(user_id), events=None))


class UserResetView(StaffView):
    """Remove every factor and recovery code: the user enrolls again at the next sign-in."""

    http_method_names = ["post"]
    permissions = {"post": CHANGE_USER}

    def post(self, request: HttpRequest, user_id: str) -> JsonResponse:
        subject = self.subject(user_id, changing=True)
        services.reset_mfa(subject, actor=self.user, request=request, via="api")
        return JsonResponse(services.user_status(subject, events=None))


class UserBypassView(StaffView):
    """Grant (POST) or end (DELETE) a bypass: sign-ins need only the password until it ends."""

    http_method_names = ["post", "delete"]
    permissions = {"post": CHANGE_USER, "delete": CHANGE_USER}

    def post(self, request: HttpRequest, user_id: str) -> JsonResponse:
        subject = self.subject(user_id, changing=True)
        until = self.moment("until")
        reason = self.text("reason", required=False, max_length=BYPASS_REASON_MAX_LENGTH)
        if "\x00" in reason:
            raise InvalidRequest(field="reason")
        services.grant_bypass(subject, until, reason, actor=self.user, request=request)
        return JsonResponse(
            {"bypass": services.user_status(subject, events=None)["bypass"]}, status=201
        )

    def delete(self, request: HttpRequest, user_id: str) -> HttpResponse:
        subject = self.subject(user_id, changing=True)
        if not services.end_bypass(subject, actor=self.user, request=request):
            raise BypassNotFound()
        return HttpResponse(status=204)

    def moment(self, name: str) -> datetime:
        moment = parse_moment(self.text(name))
        if moment is None:
            raise InvalidRequest(field=name)
        return moment


def parse_moment(value: str) -> datetime | None:
    """An ISO 8601 date and time, in UTC; without an offset, in the site's time zone (as the
    admin's form reads it). ``None`` for anything else, or a time UTC cannot hold."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            return None
        moment = timezone.make_aware(moment) if timezone.is_naive(moment) else moment
        # Year 1 at +14:00 parses, and is before year 1 in UTC: the database would fail on it.
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- policies -------------------------------------------------------------------------------


def policy_changes(data: dict[str, Any]) -> tuple[dict[str, Any], bool | None]:
    """The settings a request changes, and ``override``; ``InvalidPolicy`` for a wrong type.

    JSON types are checked here; the values themselves by ``services.update_policy``, as the
    admin's form checks them.
    """
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name != "override" and name not in POLICY_FIELDS:
            raise InvalidPolicy(str(_("Unknown policy setting.")), field=name)
        expected = _json_type(name)
        if not _fits(value, expected):
            raise InvalidPolicy(str(TYPE_MESSAGES[expected]), field=name)
        fields[name] = value
    override = fields.pop("override", None)
    if not fields and override is None:
        raise InvalidRequest()
    return fields, override


def _json_type(name: str) -> type:
    if name == "override":
        return bool
    if name == "allowed_factors":
        return list
    field = ApplicationPolicy._meta.get_field(name)
    if isinstance(field, models.BooleanField):
        return bool
    return int if isinstance(field, models.IntegerField) else str


def _fits(value: Any, expected: type) -> bool:
    if expected is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is str:
        # The admin's form refuses a NUL character too (PostgreSQL cannot store one).
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, expected)


def invalid_policy(exc: ValidationError) -> InvalidPolicy:
    """The first refusal of ``update_policy``, naming its setting."""
    field, messages = next(iter(exc.message_dict.items()))
    return InvalidPolicy(messages[0], **({} if field == NON_FIELD_ERRORS else {"field": field}))


class ApplicationPolicyView(StaffView):
    http_method_names = ["get", "head", "patch"]
    permissions = {
        "get": (("mfa_app.applicationpolicy", "view"),),
        "patch": (("mfa_app.applicationpolicy", "change"),),
    }

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(services.policy_report())

    def patch(self, request: HttpRequest) -> JsonResponse:
        fields, override = policy_changes(self.data)
        try:
            services.update_policy(None, override=override, actor=self.user, via="api", **fields)
        except ValidationError as exc:
            raise invalid_policy(exc) from exc
        return JsonResponse(services.policy_report())


class TenantPolicyView(StaffView):
    """A tenant's own policy; changing a setting turns its override on (``override``: false
    keeps it off), and a tenant without one gets one that starts from the application's."""

    http_method_names = ["get", "head", "patch"]
    permissions = {
        "get": (("mfa_app.tenantpolicy", "view"),),
        "patch": (("mfa_app.tenantpolicy", "change"),),
    }

    def tenant(self, tenant_id: str) -> Any:
        tenant = tenant_by_id(tenant_id)
        if tenant is None:
            raise TenantNotFound()
        return tenant

    def get(self, request: HttpRequest, tenant_id: str) -> JsonResponse:
        return JsonResponse(services.policy_report(self.tenant(tenant_id)))

    def patch(self, request: HttpRequest, tenant_id: str) -> JsonResponse:
        tenant = self.tenant(tenant_id)
        if services.get_policy(tenant) is None and not self.user.has_perm(
            "mfa_app.add_tenantpolicy"
        ):
            # Creating one: the admin asks for the add permission too.
            raise PermissionDenied()
        fields, override = policy_changes(self.data)
        try:
            services.update_policy(tenant, override=override, actor=self.user, via="api", **fields)
        except ValidationError as exc:
            raise invalid_policy(exc) from exc
        return JsonResponse(services.policy_report(tenant))
