"""A token client's sign-in: the password, then the challenge, then the tokens.

The obtain views are DRF views (a wrong password gets Simple JWT's or DRF's own answer); when
the sign-in needs MFA they answer 401 with the JSON API's ``MFA_REQUIRED`` or
``MFA_ENROLLMENT_REQUIRED`` body and a ``challenge_token``. The challenge steps are the JSON
API's own views, fed the pending login the token carries instead of a session's, so answers go
through the same flow verbs: the same lockout, throttles, audit events and notifications.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from ... import devices, errors, login_state
from ...api import challenge as api_challenge
from ...api.base import elsewhere
from ...flows import challenge, signin
from ...replies import AUTHENTICATED, error_response, pending_body
from . import challenge_tokens, claims
from .challenge_tokens import AUTHTOKEN, JWT

ISSUERS = {JWT: claims.issue_jwt, AUTHTOKEN: claims.issue_authtoken}


def issue(kind: str, user: Any, proof: claims.Proof) -> dict[str, str]:
    return ISSUERS[kind](user, proof)


class _ObtainView(APIView):
    """Check the password; answer with tokens only when the sign-in needs no MFA."""

    permission_classes = ()
    authentication_classes = ()
    # What the system check looks for: this obtain view asks for MFA.
    mfa_gated = True
    kind = JWT

    def authenticated_user(self, request: Request) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define authenticated_user()")

    def post(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        user = self.authenticated_user(request)
        http_request = request._request
        device_token = challenge_tokens.read_device_token(request.data.get("device_token"))
        if device_token:
            devices.present_token(http_request, device_token)
        backend = getattr(user, "backend", "") or ""
        try:
            pending = signin.begin_token_login(http_request, user, backend)
        except errors.MFAError as exc:
            return no_store(error_response(exc))
        if pending is None:
            proof = claims.passed(None, login_state.now())
            return no_store(Response(issue(self.kind, user, proof)))
        body = pending_body(pending, user)
        body["challenge_token"] = challenge_tokens.issue(pending, self.kind)
        if pending.reason == login_state.CHALLENGE:
            body["url"] = _url("verify", body["url"])
        return no_store(Response(body, status=401))


class TokenObtainPairView(_ObtainView):
    """Simple JWT's ``TokenObtainPairView``, asking for MFA where the policy does."""

    kind = JWT

    def get_authenticate_header(self, request: Request) -> str:
        # As Simple JWT's view does: a wrong password is its 401, not a 403.
        return f'{jwt_settings.AUTH_HEADER_TYPES[0]} realm="api"'

    def authenticated_user(self, request: Request) -> Any:
        serializer = TokenObtainSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return serializer.user


class ObtainAuthToken(_ObtainView):
    """DRF's ``obtain_auth_token``, asking for MFA where the policy does."""

    kind = AUTHTOKEN

    def authenticated_user(self, request: Request) -> Any:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["user"]


class _CarriedChallenge:
    """A JSON API challenge step for the pending login a challenge token carries.

    The token in the body is the step's only credential: the session and ``request.user`` play
    no part, and no cookie names anything, so a forged cross-site request has nothing to ride.
    """

    pending: login_state.PendingLogin
    token_kind: str

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request._dont_enforce_csrf_checks = True
        return super().handle(request, *args, **kwargs)

    def carry(self, request: HttpRequest) -> HttpResponse | None:
        try:
            self.pending, self.token_kind = challenge_tokens.read(self.data.get("challenge_token"))
        except errors.ChallengeExpired as exc:
            return elsewhere(request, exc)
        login_state.carry_pending(request, self.pending)
        return None

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        refused = self.carry(request)
        if refused is not None:
            return refused
        try:
            opened = challenge.open_pending(request)
        except errors.ChallengeExpired as exc:
            return elsewhere(request, exc)
        if opened is None:
            # A pending login that must enroll first: its status says so.
            return elsewhere(request)
        self.user, self.opened = opened.user, opened
        return None


class ChallengeView(_CarriedChallenge, api_challenge.ChallengeView):
    """Send a code to one of the user's phones or addresses (or name the factors to choose)."""


class VerifyView(_CarriedChallenge, api_challenge.VerifyView):
    """Check an answer; on success the tokens the client asked for at the password step."""

    def post(self, request: HttpRequest) -> JsonResponse:
        factor_type = self.text("factor", max_length=api_challenge.FACTOR_MAX_LENGTH)
        typed = api_challenge.typed_answer(factor_type)
        answer = self.code() if typed else self.credential()
        remember = self.flag("remember_device")
        passed = challenge.answer(self.opened, factor_type, answer, remember=remember)
        proof = claims.passed(passed.factor_type, self.pending.started)
        body: dict[str, Any] = {
            "valid": True,
            "status": AUTHENTICATED,
            **issue(self.token_kind, self.user, proof),
            "device_remembered": passed.device_remembered,
        }
        if passed.device_remembered:
            token = devices.take_new_token(request) or devices.browser_token(request)
            body["device_token"] = challenge_tokens.sign_device_token(token)
        if passed.new_recovery_codes:
            body["recovery_codes"] = passed.new_recovery_codes
        return JsonResponse(body)


class CancelView(_CarriedChallenge, api_challenge.CancelView):
    """End the pending login: its challenge token answers nothing afterwards."""

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        return self.carry(request)


def no_store(response: HttpResponse) -> HttpResponse:
    # Tokens and challenge tokens are credentials: no cache may keep them.
    response["Cache-Control"] = "no-store"
    return response


def _url(name: str, default: str) -> str:
    try:
        return reverse(f"mfa_token:{name}")
    except NoReverseMatch:
        return default
