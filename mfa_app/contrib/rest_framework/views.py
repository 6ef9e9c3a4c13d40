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
from ...api import enroll as api_enroll
from ...api import factors as api_factors
from ...api import status as api_status
from ...api.base import elsewhere
from ...api.responses import NotAuthenticated
from ...api.serializers import status_body
from ...flows import challenge, enrollment, signin
from ...replies import AUTHENTICATED, error_response, factor_json, pending_body
from . import challenge_tokens, claims, state
from .authentication import token_user
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
            proof = claims.passed(user, None, login_state.now())
            return no_store(Response(issue(self.kind, user, proof)))
        body = pending_body(pending, user)
        body["challenge_token"] = challenge_tokens.issue(pending, self.kind, state.new())
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


class _Carried:
    """A JSON API step for the pending login a challenge token carries.

    The token in the body is the step's only credential: a cookie session and its user play
    no part (its own records stand in for the session), and no cookie names anything, so a
    forged cross-site request has nothing to ride.
    """

    carried: challenge_tokens.Carried
    store: Any = None

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request._dont_enforce_csrf_checks = True
        cookie_session = getattr(request, "session", None)
        try:
            response = super().handle(request, *args, **kwargs)
        finally:
            if self.store is not None:
                finished = login_state.get_pending(request) is None
                state.close_store(self.store, finished=finished)
                request.session = cookie_session
        return response

    def carry(self, request: HttpRequest) -> HttpResponse | None:
        try:
            self.carried = challenge_tokens.read(self.data.get("challenge_token"))
        except errors.ChallengeExpired as exc:
            return elsewhere(request, exc)
        login_state.carry_pending(request, self.carried.pending)
        self.store = request.session = state.open_store(self.carried.state)
        return None

    def issue(self, factor_type: str | None) -> dict[str, str]:
        """The tokens asked for at the password step; MFA passed with ``factor_type``."""
        login_state.drop(self.request)
        proof = claims.passed(self.user, factor_type, self.carried.pending.started)
        return issue(self.carried.kind, self.user, proof)


class _CarriedChallenge(_Carried):
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
    """Send a code to one of the user's phones or addresses, or WebAuthn options."""


class VerifyView(_CarriedChallenge, api_challenge.VerifyView):
    """Check an answer; on success the tokens the client asked for at the password step."""

    def post(self, request: HttpRequest) -> JsonResponse:
        factor_type = self.text("factor", max_length=api_challenge.FACTOR_MAX_LENGTH)
        typed = api_challenge.typed_answer(factor_type)
        answer = self.code(factor_type) if typed else self.credential()
        remember = self.flag("remember_device")
        passed = challenge.answer(self.opened, factor_type, answer, remember=remember)
        body: dict[str, Any] = {
            "valid": True,
            "status": AUTHENTICATED,
            **self.issue(passed.factor_type),
            "device_remembered": passed.device_remembered,
        }
        if passed.device_remembered:
            token = devices.take_new_token(request) or devices.browser_token(request)
            body["device_token"] = challenge_tokens.sign_device_token(token)
        if passed.new_recovery_codes:
            body["recovery_codes"] = passed.new_recovery_codes
        return JsonResponse(body)


class CancelView(_Carried, api_challenge.CancelView):
    """End the pending login: its challenge token answers nothing afterwards."""

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        return self.carry(request)


class _CarriedEnrollment(_Carried):
    """A pending login that must enroll: the JSON API's enrollment, then the tokens."""

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        return self.carry(request) or super().authorize(request)

    def enrolled(self, done: enrollment.Enrolled) -> JsonResponse:
        body = {
            "factor": factor_json(done.device),
            "recovery_codes": done.recovery_codes,
            "status": AUTHENTICATED,
            **self.issue(done.factor_type),
        }
        return JsonResponse(body, status=201)


class TOTPBeginView(_CarriedEnrollment, api_enroll.TOTPBeginView):
    pass


class TOTPConfirmView(_CarriedEnrollment, api_enroll.TOTPConfirmView):
    pass


class WebAuthnBeginView(_CarriedEnrollment, api_enroll.WebAuthnBeginView):
    pass


class WebAuthnConfirmView(_CarriedEnrollment, api_enroll.WebAuthnConfirmView):
    pass


class CodeBeginView(_CarriedEnrollment, api_enroll.CodeBeginView):
    pass


class CodeConfirmView(_CarriedEnrollment, api_enroll.CodeConfirmView):
    pass


class EnrollLaterView(_CarriedEnrollment, api_enroll.EnrollView):
    """Postpone enrollment (grace period): tokens without MFA, this time."""

    def post(self, request: HttpRequest) -> JsonResponse:
        _next_url, days_left = enrollment.postpone(self.enrollment)
        body = {"status": AUTHENTICATED, **self.issue(None), "grace_days_left": days_left}
        return JsonResponse(body)


class _Bearer:
    """A JSON API endpoint for a token client signed in with its token (Authorization header).

    The token is the only credential: a cookie session plays no part, and nothing the
    endpoint records goes into one (a throwaway store stands in). What the token says its
    holder proved stands for the session's records: a sensitive change needs MFA (or, without
    a factor, the password) within ``MFA_REAUTHENTICATION_TIMEOUT``, then a new sign-in.
    """

    def handle(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        found = token_user(request)
        if found is None:
            raise NotAuthenticated()
        user, proof = found
        request._dont_enforce_csrf_checks = True
        cookie_session = getattr(request, "session", None)
        request.session = state.throwaway()
        request.user = user
        login_state.carry_proof(request, proof.authenticated_at, proof.mfa_at, proof.factor_type)
        try:
            return super().handle(request, *args, **kwargs)
        finally:
            request.session = cookie_session


class StatusView(_Bearer, api_status.StatusView):
    """The token's user's MFA: factors, recovery codes, what they may add, their policy."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse(status_body(request, request.user))


class FactorListView(_Bearer, api_factors.FactorListView):
    pass


class FactorView(_Bearer, api_factors.FactorView):
    pass


class PrimaryFactorView(_Bearer, api_factors.PrimaryFactorView):
    pass


class RecoveryCodesView(_Bearer, api_factors.RecoveryCodesView):
    pass


def no_store(response: HttpResponse) -> HttpResponse:
    # Tokens and challenge tokens are credentials: no cache may keep them.
    response["Cache-Control"] = "no-store"
    return response


def _url(name: str, default: str) -> str:
    try:
        return reverse(f"mfa_token:{name}")
    except NoReverseMatch:
        return default
