from django.urls import include, path, re_path

from ..models import FactorType
from . import base, challenge, enroll, factors, openapi, sessions, staff_urls, status

app_name = "api"

FACTOR = "factors/<str:factor_type>/<str:pk>/"

urlpatterns = [
    path("status/", status.StatusView.as_view(), name="status"),
    path("enroll/totp/", enroll.TOTPBeginView.as_view(), name="enroll_totp"),
    path("enroll/totp/confirm/", enroll.TOTPConfirmView.as_view(), name="enroll_totp_confirm"),
    path("enroll/webauthn/", enroll.WebAuthnBeginView.as_view(), name="enroll_webauthn"),
    path(
        "enroll/webauthn/confirm/",
        enroll.WebAuthnConfirmView.as_view(),
        name="enroll_webauthn_confirm",
    ),
    path(
        "enroll/sms/",
        enroll.CodeBeginView.as_view(factor_type=FactorType.SMS),
        name="enroll_sms",
    ),
    path(
        "enroll/sms/confirm/",
        enroll.CodeConfirmView.as_view(factor_type=FactorType.SMS),
        name="enroll_sms_confirm",
    ),
    path(
        "enroll/email/",
        enroll.CodeBeginView.as_view(factor_type=FactorType.EMAIL),
        name="enroll_email",
    ),
    path(
        "enroll/email/confirm/",
        enroll.CodeConfirmView.as_view(factor_type=FactorType.EMAIL),
        name="enroll_email_confirm",
    ),
    path("enroll/later/", enroll.EnrollLaterView.as_view(), name="enroll_later"),
    path("challenge/", challenge.ChallengeView.as_view(), name="challenge"),
    path("challenge/verify/", challenge.VerifyView.as_view(), name="verify"),
    path("challenge/cancel/", challenge.CancelView.as_view(), name="cancel"),
    path("reauthenticate/", challenge.ReauthenticateView.as_view(), name="reauthenticate"),
    path("factors/", factors.FactorListView.as_view(), name="factors"),
    path(FACTOR, factors.FactorView.as_view(), name="factor"),
    path(f"{FACTOR}primary/", factors.PrimaryFactorView.as_view(), name="factor_primary"),
    path("recovery-codes/", factors.RecoveryCodesView.as_view(), name="recovery_codes"),
    path(
        "sessions/sign-out-others/",
        sessions.SignOutOthersView.as_view(),
        name="sign_out_others",
    ),
    path("staff/", include(staff_urls.urlpatterns)),
    path("openapi.json", openapi.OpenAPIView.as_view(), name="openapi"),
    re_path(r"", base.NotFoundView.as_view(), name="not_found"),
]
