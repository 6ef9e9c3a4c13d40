from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .accounts import forms, views

urlpatterns = [
    path("", views.home, name="home"),
    path("private/", views.private, name="private"),
    path("private/sensitive/", views.sensitive, name="sensitive"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=forms.LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.SignupView.as_view(), name="signup"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "invitations/<str:token>/", views.AcceptInvitationView.as_view(), name="accept_invitation"
    ),
    path("api/me/", views.api_me, name="api_me"),
    path("app/", views.self_hosted, name="self_hosted"),
    path("accounts/api/login/", views.api_login, name="api_login"),
    path("mfa/", include("mfa_app.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
