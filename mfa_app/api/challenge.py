"""Answering a challenge: a pending login's, or a signed-in user's step-up; and re-authentication.

Thin over ``mfa_app.flows.challenge`` and ``flows.step_up``, the verbs the pages call, so wrong
answers count the same (per challenge, per user, per IP) and a challenge that ends without
success ends the same way: the pending login is dropped, or the session that could not step up
is signed out.
"""

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import errors, login_state
from ..factors import get_factor
from ..flows import challenge, signin, step_up
from ..forms import ReauthenticateForm
from .base import ApiView, elsewhere
from .responses import NotAuthenticated
from .serializers import AUTHENTICATED, challenge_json

FACTOR_MAX_LENGTH = 16
ID_MAX_LENGTH = 64


def typed_answer(factor_type: str) -> bool:
    """Whether ``factor_type`` is answered with a typed code (else the browser's credential)."""
    try:
        return get_factor(factor_type).typed_answer
    except KeyError:
        return True  # no such factor: the flow refuses it (factor_not_allowed)


def same_id(given: str, expected: Any) -> bool:
    try:
        return uuid.UUID(given) == uuid.UUID(str(expected))
    except (ValueError, TypeError):
        return False


class AnswerView(ApiView):
    """A pending login's challenge, or else the signed-in user's step-up challenge."""

    mfa_pending_allowed = True
    http_method_names = ["post"]
    opened: challenge.OpenChallenge

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        if request.user.is_authenticated:
            self.user = request.user
            self.opened = step_up.open_step_up(request)
            return None
        factor = self.data.get("factor")
        try:
            # An answer names its factor: only that factor's devices need reading.
            opened = challenge.open_pending(
                request, answering=factor if isinstance(factor, str) else None
            )
        except errors.ChallengeExpired as exc:
            return elsewhere(request, exc)
        if opened is None:
            # Must enroll first, or nothing is pending: its status says so.
            return elsewhere(request)
        self.user, self.opened = opened.user, opened
        return None


class ChallengeView(AnswerView):
    """Open the challenge and prepare a way to answer it: send a code, or WebAuthn options."""

    def post(self, request: HttpRequest) -> JsonResponse:
        factor_type = self.text("factor", required=False, max_length=FACTOR_MAX_LENGTH)
        device_id = self.text("device_id", required=False, max_length=ID_MAX_LENGTH)
        opened = self.opened
        challenge.start(opened)
        body: dict[str, Any] = {
            "challenge": challenge_json(
                self.user, opened.challenge_id, opened.expires_at, opened.policy
            )
        }
        if not factor_type:
            return JsonResponse(body)
        method = opened.method(factor_type, device_id)
        body["factor"] = factor_type
        if method.device is not None:
            challenge.send_code(opened, method)
            body.update(device_id=method.device_id, sent_to=method.destination)
            return JsonResponse(body, status=202)
        body.update(challenge.prepare(opened, method))
        return JsonResponse(body)


class VerifyView(AnswerView):
    """Check an answer; on success the pending login is signed in, or the step-up noted."""

    error_fields = {"valid": False}

    def post(self, request: HttpRequest) -> JsonResponse:
        given_id = self.text("challenge_id", max_length=ID_MAX_LENGTH)
        factor_type = self.text("factor", max_length=FACTOR_MAX_LENGTH)
        answer = self.code(factor_type) if typed_answer(factor_type) else self.credential()
        remember = self.flag("remember_device")
        expected = self.opened.challenge_id or step_up.current_challenge_id(request)
        if not same_id(given_id, expected):
            if self.opened.kind == challenge.STEP_UP and step_up.passed_meanwhile(
                request, given_id
            ):
                # The answer that signed this session in, sent again: the first one won.
                raise errors.ChallengeAlreadyVerified()
            raise errors.ChallengeNotFound()
        passed = challenge.answer(self.opened, factor_type, answer, remember=remember)
        body: dict[str, Any] = {
            "valid": True,
            "status": AUTHENTICATED,
            "next": passed.next_url or None,
            "device_remembered": passed.device_remembered,
        }
        if passed.new_recovery_codes:
            body["recovery_codes"] = passed.new_recovery_codes
        return JsonResponse(body)


class CancelView(ApiView):
    """Drop the pending login (the client goes back to its login form)."""

    mfa_pending_allowed = True
    http_method_names = ["post"]

    def authorize(self, request: HttpRequest) -> None:
        if login_state.get_pending(request) is None:
            raise NotAuthenticated()

    def post(self, request: HttpRequest) -> HttpResponse:
        challenge.cancel(request)
        return HttpResponse(status=204)


class ReauthenticateView(ApiView):
    """Confirm it is still the signed-in user, with their password (or an app's code)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        data = self.form(ReauthenticateForm).cleaned_data
        step_up.reauthenticate(request, password=data["password"], code=data["code"])
        return JsonResponse(
            {
                "status": AUTHENTICATED,
                "recently_authenticated": signin.recently_authenticated(request),
            }
        )
