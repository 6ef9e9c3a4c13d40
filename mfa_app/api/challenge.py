"""Answering a challenge: a pending login's, or a signed-in user's step-up; and re-authentication.

Both call the services the pages call, so wrong answers count the same (per challenge, per user,
per IP), and a challenge that ends without success ends the same way: the pending login is
dropped, or the signed-in session that could not step up is signed out.
"""

import uuid
from typing import Any

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from .. import errors, login_state, services
from ..models import FactorType
from ..policy import EffectivePolicy, policy_for
from ..views.security import reauthenticate
from ..views.step_up import STEP_UP_KEY, step_up_challenge, step_up_passed
from .base import ApiView
from .responses import InvalidRequest, NotAuthenticated
from .serializers import AUTHENTICATED, challenge_json, pending_response

NO_FACTOR = _("You have no factor to confirm it is you with: use your password instead.")
FACTOR_MAX_LENGTH = 16
ID_MAX_LENGTH = 64
PASSWORD_MAX_LENGTH = 4096
# Errors after which the challenge is over: no answer can pass it any more.
ENDED = (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified)


def same_id(given: str, expected: Any) -> bool:
    try:
        return uuid.UUID(given) == uuid.UUID(str(expected))
    except (ValueError, TypeError):
        return False


class AnswerView(ApiView):
    """A pending login's challenge, or else the signed-in user's step-up challenge."""

    mfa_pending_allowed = True
    http_method_names = ["post"]
    pending: login_state.PendingLogin | None
    policy: EffectivePolicy

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        self.pending = None
        if request.user.is_authenticated:
            self.user = request.user
        else:
            pending = login_state.get_pending(request)
            live = pending is not None and pending.reason == login_state.CHALLENGE
            user = login_state.pending_user(request) if live else None
            if user is None:
                # Must enroll first, or the login ended: its status says so.
                response = pending_response(request)
                if response is None:
                    raise NotAuthenticated()
                return response
            self.user, self.pending = user, pending
        self.policy = policy_for(self.user)
        self.methods = services.challenge_methods(self.user, self.policy)
        self.factor_types = list(dict.fromkeys(m.factor_type for m in self.methods))
        if not self.methods:
            if self.pending is not None:
                # As on the challenge page: nothing the policy allows can answer.
                login_state.drop(request)
                raise errors.FactorNotAllowed()
            raise errors.FactorNotAllowed(str(NO_FACTOR))
        return None

    def open_challenge(self) -> tuple[str, Any]:
        """The challenge to answer: the pending login's, or this session's step-up challenge."""
        if self.pending is not None:
            return self.pending.challenge_id, self.pending.expires_at
        challenge = step_up_challenge(self.request, self.user)
        return str(challenge.pk), challenge.expires_at

    def failed(self, exc: errors.MFAError) -> HttpResponse:
        if isinstance(exc, ENDED) and hasattr(self, "policy"):
            self.ended(exc)
        return super().failed(exc)

    def ended(self, exc: errors.MFAError) -> None:
        if self.pending is not None:
            login_state.drop(self.request)
        elif not isinstance(exc, errors.ChallengeAlreadyVerified):
            # Whoever holds this session could not prove it is the user: sign in again. (A
            # challenge already passed is the same answer sent twice: the first one won.)
            logout(self.request)


class ChallengeView(AnswerView):
    """Open the challenge and prepare a way to answer it: send a code, or WebAuthn options."""

    def post(self, request: HttpRequest) -> JsonResponse:
        factor_type = self.text("factor", required=False, max_length=FACTOR_MAX_LENGTH)
        device_id = self.text("device_id", required=False, max_length=ID_MAX_LENGTH)
        challenge_id, expires_at = self.open_challenge()
        body: dict[str, Any] = {
            "challenge": challenge_json(self.user, challenge_id, expires_at, self.policy)
        }
        if not factor_type:
            return JsonResponse(body)
        method = self.method(factor_type, device_id)
        body["factor"] = factor_type
        if method.device is not None:
            services.send_challenge_code(
                self.user, challenge_id, factor_type, method.device_id, request
            )
            body.update(device_id=method.device_id, sent_to=method.destination)
            return JsonResponse(body, status=202)
        body.update(
            services.begin_challenge(
                self.user, factor_type, request, self.factor_types, challenge_id=challenge_id
            )
        )
        return JsonResponse(body)

    def method(self, factor_type: str, device_id: str) -> services.ChallengeMethod:
        candidates = [m for m in self.methods if m.factor_type == factor_type]
        if not candidates:
            raise errors.FactorNotAllowed()
        if device_id and candidates[0].device is not None:
            for method in candidates:
                if method.device_id == device_id:
                    return method
            raise errors.FactorNotFound()
        return candidates[0]


class VerifyView(AnswerView):
    """Check an answer; on success the pending login is signed in, or the step-up noted."""

    error_fields = {"valid": False}

    def post(self, request: HttpRequest) -> JsonResponse:
        given_id = self.text("challenge_id", max_length=ID_MAX_LENGTH)
        factor_type = self.text("factor", max_length=FACTOR_MAX_LENGTH)
        answer = self.credential() if factor_type == FactorType.WEBAUTHN else self.text("code")
        remember = self.flag("remember_device")
        if not same_id(given_id, self.current_challenge_id()):
            raise errors.ChallengeNotFound()
        challenge_id, _expires_at = self.open_challenge()
        verification = services.verify_challenge(
            self.user, challenge_id, factor_type, answer, request, self.factor_types
        )
        remembered = False
        next_url = ""
        if self.pending is not None:
            next_url = login_state.complete(
                request, self.user, verification.factor_type, verification.device
            )
            remembered = remember and self.policy.trusted_devices_enabled
            if remembered:
                services.remember_device(self.user, request)
        else:
            step_up_passed(request, verification)
        body: dict[str, Any] = {
            "valid": True,
            "status": AUTHENTICATED,
            "next": next_url or None,
            "device_remembered": remembered,
        }
        if verification.new_recovery_codes:
            body["recovery_codes"] = verification.new_recovery_codes
        return JsonResponse(body)

    def current_challenge_id(self) -> Any:
        if self.pending is not None:
            return self.pending.challenge_id
        record = self.request.session.get(STEP_UP_KEY)
        return record.get("challenge_id") if isinstance(record, dict) else None


class CancelView(ApiView):
    """Drop the pending login (the client goes back to its login form)."""

    mfa_pending_allowed = True
    http_method_names = ["post"]

    def authorize(self, request: HttpRequest) -> None:
        if login_state.get_pending(request) is None:
            raise NotAuthenticated()

    def post(self, request: HttpRequest) -> HttpResponse:
        login_state.drop(request)
        return HttpResponse(status=204)


class ReauthenticateView(ApiView):
    """Confirm it is still the signed-in user, with their password (or an app's code)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        password = self.text(
            "password", required=False, max_length=PASSWORD_MAX_LENGTH, strip=False
        )
        code = self.text("code", required=False)
        if not password and not code:
            raise InvalidRequest(field="password")
        reauthenticate(request, password=password, code=code)
        return JsonResponse(
            {
                "status": AUTHENTICATED,
                "recently_authenticated": login_state.recently_authenticated(request),
            }
        )
