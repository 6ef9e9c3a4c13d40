"""Adding a factor: signed-in users (after a recent proof of identity) and pending logins that
must enroll, whose login the enrollment completes, exactly as on the pages."""

import base64
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from .. import errors, login_state, services
from ..conf import app_settings
from ..factors import get_factor
from ..masking import mask_destination
from ..models import FactorType
from ..policy import policy_for
from ..views.enroll import SECRET_SESSION_KEY, EnrollmentSteps, offered_totp_secret
from .base import ApiView, require_recent_auth
from .responses import InvalidRequest, NotAuthenticated
from .serializers import AUTHENTICATED, factor_json, pending_response

NO_SECRET = _("Start the enrollment first (POST enroll/totp/): no secret was offered yet.")
NOT_PENDING = _("Only a sign-in that must set up two-step verification can postpone it.")
PHONE_MAX_LENGTH = 64


class EnrollView(EnrollmentSteps, ApiView):
    """Open to signed-in users adding a factor and to pending logins that must enroll."""

    http_method_names = ["post"]

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        pending = login_state.get_pending(request)
        user = None
        if request.user.is_authenticated:
            user, self.pending = request.user, False
        elif pending is not None and pending.reason == login_state.ENROLL:
            user, self.pending = login_state.pending_user(request), True
        if user is None:
            # A login waiting for its challenge, or one that ended: its status says so.
            response = pending_response(request)
            if response is None:
                raise NotAuthenticated()
            return response
        self.user = user
        self.policy = policy_for(user)
        if self.policy.disabled or (self.factor_type and not self.policy.allows(self.factor_type)):
            raise errors.FactorNotAllowed()
        if not self.pending:
            require_recent_auth(request)
        return None

    def failed(self, exc: errors.MFAError) -> HttpResponse:
        if isinstance(exc, errors.ChallengeExpired) and getattr(self, "pending", False):
            # The pending login ended while the factor was being added: sign in again.
            login_state.drop(self.request)
        return super().failed(exc)

    def enrolled(self, factor_type: str, device: Any) -> JsonResponse:
        codes, next_url = self.complete_enrollment(factor_type, device)
        body = {
            "factor": factor_json(device),
            "recovery_codes": codes,
            "status": AUTHENTICATED,
            "next": next_url or None,
        }
        return JsonResponse(body, status=201)


class TOTPBeginView(EnrollView):
    factor_type = FactorType.TOTP

    def post(self, request: HttpRequest) -> JsonResponse:
        setup = services.totp_setup(self.user, offered_totp_secret(request, self.user), request)
        qr_code = base64.b64encode(setup.qr_svg.encode()).decode("ascii")
        return JsonResponse(
            {
                "secret": setup.secret,
                "otpauth_uri": setup.uri,
                "qr_code": f"data:image/svg+xml;base64,{qr_code}",
            }
        )


class TOTPConfirmView(EnrollView):
    factor_type = FactorType.TOTP

    def post(self, request: HttpRequest) -> JsonResponse:
        code, name = self.text("code"), self.name()
        secret = offered_totp_secret(request, self.user, create=False)
        if secret is None:
            raise InvalidRequest(str(NO_SECRET))
        with transaction.atomic():
            device = services.enroll_totp(self.user, secret, code, request, name=name)
            self.close_pending(FactorType.TOTP)
        request.session.pop(SECRET_SESSION_KEY, None)
        return self.enrolled(FactorType.TOTP, device)


class WebAuthnBeginView(EnrollView):
    factor_type = FactorType.WEBAUTHN

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"options": services.webauthn_registration_options(self.user, request)})


class WebAuthnConfirmView(EnrollView):
    factor_type = FactorType.WEBAUTHN

    def post(self, request: HttpRequest) -> JsonResponse:
        credential, name = self.credential(), self.name()
        with transaction.atomic():
            device = services.enroll_webauthn(self.user, credential, request, name=name)
            self.close_pending(FactorType.WEBAUTHN)
        return self.enrolled(FactorType.WEBAUTHN, device)


class CodeBeginView(EnrollView):
    """Send a code to the phone number given (SMS) or to the account's address (email)."""

    def post(self, request: HttpRequest) -> JsonResponse:
        sms = self.factor_type == FactorType.SMS
        number = self.text("phone_number", max_length=PHONE_MAX_LENGTH) if sms else None
        destination = services.send_enrollment_code(self.user, self.factor_type, number, request)
        body = {"sent_to": mask_destination(destination), "expires_in": app_settings.CODE_TIMEOUT}
        if sms:
            body["phone_number"] = destination
        return JsonResponse(body, status=202)


class CodeConfirmView(EnrollView):
    def post(self, request: HttpRequest) -> JsonResponse:
        sms = self.factor_type == FactorType.SMS
        number = self.text("phone_number", max_length=PHONE_MAX_LENGTH) if sms else None
        code, name = self.text("code"), self.name()
        destination = get_factor(self.factor_type).clean_destination(number, self.user)
        device = services.enroll_code_factor(
            self.user,
            self.factor_type,
            destination,
            code,
            request,
            name=name,
            then=lambda: self.close_pending(self.factor_type),
        )
        return self.enrolled(self.factor_type, device)


class EnrollLaterView(EnrollView):
    """Postpone enrollment (grace period): the pending login goes on without MFA, this time."""

    def post(self, request: HttpRequest) -> JsonResponse:
        if not self.pending:
            raise InvalidRequest(str(NOT_PENDING))
        days_left = services.postpone_enrollment(self.user, request)
        next_url = login_state.complete_without_mfa(request, self.user)
        return JsonResponse(
            {"status": AUTHENTICATED, "next": next_url or None, "grace_days_left": days_left}
        )
