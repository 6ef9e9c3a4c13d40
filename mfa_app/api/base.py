"""What every endpoint shares: session auth, Django's CSRF check, JSON in and out, errors."""

import json
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import busy, errors
from ..factors.base import get_factor
from ..flows import manage
from ..forms import CodeForm
from ..policy import EffectivePolicy
from .responses import (
    CsrfFailed,
    InvalidRequest,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    error_response,
)
from .serializers import pending_response

SAFE_METHODS = ("GET", "HEAD")
# Methods whose request body is read (a DELETE names its target in the URL).
BODY_METHODS = ("POST", "PATCH")
# The longest name a factor can have (django-otp's ``Device.name``).
NAME_MAX_LENGTH = 64
CODE_MAX_LENGTH = 64


def _pass(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


class ApiView(View):
    """A JSON endpoint for the signed-in user (``authorize`` says who else may call it)."""

    # MFAMiddleware answers a pending login here in JSON, whatever the request's headers say.
    mfa_api = True
    http_method_names = ["get", "post", "patch", "delete", "head"]
    # Set beside ``error`` in every refusal (the verify endpoint's ``"valid": false``).
    error_fields: dict[str, Any] = {}
    data: dict[str, Any]
    user: Any

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # CsrfViewMiddleware would refuse with an HTML page: ``dispatch`` runs the same check
        # (the Origin and Referer checks on HTTPS included) and refuses in JSON.
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = self.handle(request, *args, **kwargs)
        except errors.MFAError as exc:
            response = self.failed(exc)
        except RequestDataTooBig:
            response = self.failed(InvalidRequest())
        except OperationalError as exc:
            if not busy.is_busy(exc):
                raise
            response = self.failed(busy.refusal(request))
        if response.status_code == 405:
            response["Allow"] = ", ".join(self._allowed_methods())
        # Every answer is about one user's MFA, and some carry secrets or codes.
        response["Cache-Control"] = "no-store"
        return response

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            raise MethodNotAllowed()
        if request.method not in SAFE_METHODS:
            check_csrf(request)
        self.data = read_json(request)
        return self.authorize(request) or handler(request, *args, **kwargs)

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        """Set ``user`` or refuse; a response returned is sent instead of calling the handler."""
        # A pending login never gets here: the middleware answers it (and without the
        # middleware, it is an anonymous session).
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        self.user = request.user
        return None

    def failed(self, exc: errors.MFAError) -> HttpResponse:
        return error_response(exc, **self.error_fields)

    # --- the request's JSON fields ----------------------------------------------------------

    def text(
        self,
        name: str,
        *,
        required: bool = True,
        max_length: int = CODE_MAX_LENGTH,
        strip: bool = True,
    ) -> str:
        """A string field; ``""`` for an optional one that is missing or empty."""
        value = self.data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or len(value) > max_length:
            raise InvalidRequest(field=name)
        value = value.strip() if strip else value
        if required and not value:
            raise InvalidRequest(field=name)
        return value

    def form(self, form_class: type[forms.Form], **kwargs: Any) -> forms.Form:
        """The request's fields checked by the page's own form: one validation for both.

        A field that is not a string, or that the form refuses, is ``invalid_request`` naming
        the field (the form's own errors name its first field).
        """
        data = {}
        for name in form_class.base_fields:
            value = self.data.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InvalidRequest(field=name)
            data[name] = value
        form = form_class(data, **kwargs)
        if not form.is_valid():
            field = next(iter(form.errors))
            raise InvalidRequest(
                field=next(iter(form.fields)) if field == NON_FIELD_ERRORS else field
            )
        return form

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            raise InvalidRequest(field=name)
        return value

    def code(self, factor_type: str | None = None) -> str:
        """A typed answer (a code from an app, a text, an email or a recovery code).

        With ``factor_type``, an answer of the wrong shape for it (letters, too few digits) is
        refused here, as on the pages: it costs no attempt.
        """
        try:
            factor = get_factor(factor_type) if factor_type else None
        except KeyError:
            factor = None  # no such factor: the flow refuses it (factor_not_allowed)
        if factor is None:
            return self.form(CodeForm).cleaned_data["code"]
        shape = {"numeric": factor.numeric_answer, "digits": factor.answer_digits}
        return self.form(CodeForm, **shape).cleaned_data["code"]

    def name(self) -> str:
        """The optional ``name`` of a factor being added (``""``: the factor's default)."""
        value = self.data.get("name")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidRequest(field="name")
        value = " ".join(value.split())
        if len(value) > NAME_MAX_LENGTH:
            raise errors.InvalidName(max_length=NAME_MAX_LENGTH)
        return value

    def credential(self) -> str:
        """A WebAuthn response: the object ``PublicKeyCredential.toJSON()`` gives, or its JSON."""
        value = self.data.get("credential")
        if isinstance(value, dict):
            return json.dumps(value)
        if isinstance(value, str) and value.strip():
            return value
        raise InvalidRequest(field="credential")


class ManageView(ApiView):
    """The signed-in user's own factors and recovery codes, while their policy has MFA on."""

    policy: EffectivePolicy

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        super().authorize(request)
        self.policy = manage.policy_in_force(self.user)
        return None


def check_csrf(request: HttpRequest) -> None:
    """Django's own CSRF check, as ``CsrfViewMiddleware`` runs it for a form."""
    checker = CsrfViewMiddleware(_pass)
    if "CSRF_COOKIE" not in request.META:
        # The site does not run the middleware: read the cookie here.
        checker.process_request(request)
    if checker.process_view(request, None, (), {}) is not None:
        raise CsrfFailed()


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object (``{}`` without a body); ``InvalidRequest`` for anything else."""
    if request.method not in BODY_METHODS:
        return {}
    raw = request.body
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest() from exc
    if not isinstance(data, dict):
        raise InvalidRequest()
    return data


def elsewhere(request: HttpRequest, ended: errors.MFAError | None = None) -> HttpResponse:
    """The answer to a session this endpoint cannot serve.

    A pending login that ``ended`` (the flow dropped it) must sign in again (401); one that
    must take another MFA step gets its status; a session with no sign-in, ``not_authenticated``.
    """
    if ended is not None:
        return error_response(ended, status=401)
    response = pending_response(request)
    if response is None:
        raise NotAuthenticated()
    return response


class NotFoundView(ApiView):
    """Any other path under the API: a JSON 404, not the site's HTML page."""

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise NotFound()
