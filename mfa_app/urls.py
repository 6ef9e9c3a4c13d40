from django.urls import include, path

from .views import challenge, codes, enroll, passkey, recovery, security, step_up, webauthn

app_name = "mfa_app"

urlpatterns = [
    path("challenge/", challenge.ChallengeView.as_view(), name="challenge"),
    path("challenge/cancel/", challenge.CancelView.as_view(), name="cancel"),
    path("enroll/", enroll.EnrollView.as_view(), name="enroll"),
    path("enroll/later/", enroll.EnrollLaterView.as_view(), name="enroll_later"),
    path("enroll/totp/", enroll.TOTPEnrollView.as_view(), name="enroll_totp"),
    path("enroll/sms/", codes.SMSEnrollView.as_view(), name="enroll_sms"),
    path("enroll/email/", codes.EmailEnrollView.as_view(), name="enroll_email"),
    path("passkey/login/", passkey.PasskeyLoginView.as_view(), name="passkey_login"),
    path("passkey/offer/", passkey.PasskeyOfferView.as_view(), name="passkey_offer"),
    path("enroll/webauthn/", webauthn.WebAuthnEnrollView.as_view(), name="enroll_webauthn"),
    path(
        "recovery-codes/done/",
        recovery.RecoveryCodesDoneView.as_view(),
        name="recovery_codes_done",
    ),
    path(
        "recovery-codes/regenerate/",
        recovery.RegenerateRecoveryCodesView.as_view(),
        name="regenerate_recovery_codes",
    ),
    path("security/", security.SecurityView.as_view(), name="security"),
    path(
        "factors/<str:factor_type>/<str:pk>/remove/",
        security.RemoveFactorView.as_view(),
        name="remove_factor",
    ),
    path(
        "factors/<str:factor_type>/<str:pk>/rename/",
        security.RenameFactorView.as_view(),
        name="rename_factor",
    ),
    path(
        "factors/<str:factor_type>/<str:pk>/primary/",
        security.SetPrimaryFactorView.as_view(),
        name="set_primary_factor",
    ),
    path(
        "security/sessions/sign-out/",
        security.SignOutOthersView.as_view(),
        name="sign_out_others",
    ),
    path("devices/revoke/", security.RevokeDevicesView.as_view(), name="revoke_devices"),
    path("reauthenticate/", security.ReauthenticateView.as_view(), name="reauthenticate"),
    path("step-up/", step_up.StepUpView.as_view(), name="step_up"),
    path("api/", include("mfa_app.api.urls")),
]
