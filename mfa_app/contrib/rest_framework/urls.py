"""A token client's sign-in. Include it under the site's API:

``path("api/auth/", include("mfa_app.contrib.rest_framework.urls"))``
"""

from django.apps import apps
from django.urls import path

from ...models import FactorType
from . import openapi, views

app_name = "mfa_token"

FACTOR = "factors/<str:factor_type>/<str:pk>/"

urlpatterns = [
    path("token/", views.TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("challenge/", views.ChallengeView.as_view(), name="challenge"),
    path("challenge/verify/", views.VerifyView.as_view(), name="verify"),
    path("challenge/cancel/", views.CancelView.as_view(), name="cancel"),
    path("enroll/totp/", views.TOTPBeginView.as_view(), name="enroll_totp"),
    path("enroll/totp/confirm/", views.TOTPConfirmView.as_view(), name="enroll_totp_confirm"),
    path("enroll/webauthn/", views.WebAuthnBeginView.as_view(), name="enroll_webauthn"),
    path(
        "enroll/webauthn/confirm/",
        views.WebAuthnConfirmView.as_view(),
        name="enroll_webauthn_confirm",
    ),
    path("enroll/sms/", views.CodeBeginView.as_view(factor_type=FactorType.SMS), name="enroll_sms"),
    path(
        "enroll/sms/confirm/",
        views.CodeConfirmView.as_view(factor_type=FactorType.SMS),
        name="enroll_sms_confirm",
    ),
    path(
        "enroll/email/",
        views.CodeBeginView.as_view(factor_type=FactorType.EMAIL),
        name="enroll_email",
    ),
    path(
        "enroll/email/confirm/",
        views.CodeConfirmView.as_view(factor_type=FactorType.EMAIL),
        name="enroll_email_confirm",
    ),
    path("enroll/later/", views.EnrollLaterView.as_view(), name="enroll_later"),
    path("status/", views.StatusView.as_view(), name="status"),
    path("factors/", views.FactorListView.as_view(), name="factors"),
    path(FACTOR, views.FactorView.as_view(), name="factor"),
    path(f"{FACTOR}primary/", views.PrimaryFactorView.as_view(), name="factor_primary"),
    path("recovery-codes/", views.RecoveryCodesView.as_view(), name="recovery_codes"),
    path("openapi.json", openapi.OpenAPIView.as_view(), name="openapi"),
]
if apps.is_installed("rest_framework.authtoken"):
    # DRF's token keys live in that app's table.
    urlpatterns.append(
        path("auth-token/", views.ObtainAuthToken.as_view(), name="auth_token"),
    )
