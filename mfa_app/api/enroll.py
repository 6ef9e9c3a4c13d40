"""Adding a factor: signed-in users (after a recent proof of identity) and pending logins that
must enroll, whose login the enrollment completes. Thin over ``mfa_app.flows.enrollment``, the
verbs the pages call."""

import base64

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import errors
from ..conf import app_settings
from ..factors import get_factor
from ..flows import enrollment
from ..masking import mask_destination
from ..models import FactorType
from .base import ApiView, elsewhere
from .serializers import AUTHENTICATED, factor_json

PHONE_MAX_LENGTH = 64


def destination_input(factor_type: str) -> str | None:
    """The JSON field where the user gives a code factor's destination (``None``: nothing)."""
    return getattr(get_factor(factor_type), "destination_input", None)


class EnrollView(ApiView):
    """Open to signed-in users adding a factor and to pending logins that must enroll."""

    http_method_names = ["post"]
    mfa_pending_allowed = True
    factor_type: str | None = None
    enrollment: enrollment.Enrollment

    def authorize(self, request: HttpRequest) -> HttpResponse | None:
        try:
            opened = enrollment.open_enrollment(request, self.factor_type)
        except errors.ChallengeExpired as exc:
            return elsewhere(request, exc)
        if opened is None:
            # A login waiting for its challenge, or none at all: its status says so.
            return elsewhere(request)
        self.enrollment, self.user = opened, opened.user
        return None

    def enrolled(self, done: enrollment.Enrolled) -> JsonResponse:
        body = {
            "factor": factor_json(done.device),
            "recovery_codes": done.recovery_codes,
            "status": AUTHENTICATED,
            "next": done.next_url or None,
        }
        return JsonResponse(body, status=201)


class TOTPBeginView(EnrollView):
    factor_type = FactorType.TOTP

    def post(self, request: HttpRequest) -> JsonResponse:
        setup = enrollment.totp_setup(self.enrollment)
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
        code, name = self.code(self.factor_type), self.name()
        return self.enrolled(enrollment.confirm_totp(self.enrollment, code, name))


class WebAuthnBeginView(EnrollView):
    factor_type = FactorType.WEBAUTHN

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"options": enrollment.webauthn_options(self.enrollment)})


class WebAuthnConfirmView(EnrollView):
    factor_type = FactorType.WEBAUTHN

    def post(self, request: HttpRequest) -> JsonResponse:
        credential, name = self.credential(), self.name()
        return self.enrolled(enrollment.confirm_webauthn(self.enrollment, credential, name))


class CodeBeginView(EnrollView):
    """Send a code to the phone number given (SMS) or to the account's address (email)."""

    def post(self, request: HttpRequest) -> JsonResponse:
        field = destination_input(self.factor_type)
        given = self.text(field, max_length=PHONE_MAX_LENGTH) if field else None
        destination = enrollment.send_code(self.enrollment, self.factor_type, given)
        body = {"sent_to": mask_destination(destination), "expires_in": app_settings.CODE_TIMEOUT}
        if field:
            body[field] = destination
        return JsonResponse(body, status=202)


class CodeConfirmView(EnrollView):
    def post(self, request: HttpRequest) -> JsonResponse:
        field = destination_input(self.factor_type)
        given = self.text(field, max_length=PHONE_MAX_LENGTH) if field else None
        code, name = self.code(self.factor_type), self.name()
        destination = enrollment.clean_destination(self.enrollment, self.factor_type, given)
        done = enrollment.confirm_code(self.enrollment, self.factor_type, destination, code, name)
        return self.enrolled(done)


class EnrollLaterView(EnrollView):
    """Postpone enrollment (grace period): the pending login goes on without MFA, this time."""

    def post(self, request: HttpRequest) -> JsonResponse:
        next_url, days_left = enrollment.postpone(self.enrollment)
        return JsonResponse(
            {"status": AUTHENTICATED, "next": next_url or None, "grace_days_left": days_left}
        )
