"""allauth.mfa as a benchmarked site: allauth's account login, then its MFA authenticate
stage (TOTP or a recovery code), with allauth's defaults but for signing in by username."""

from bench.peers.base_settings import *  # noqa: F403
from bench.peers.base_settings import DJANGO_APPS, TEMPLATES, middleware

BENCH_PEER = "allauth"
BENCH_SCENARIOS = "bench.peers.allauth_scenarios"
BENCH_PAGE_DECORATOR = "django.contrib.auth.decorators.login_required"
BENCH_LOGOUT_URL = "account_logout"

INSTALLED_APPS = [*DJANGO_APPS, "allauth", "allauth.account", "allauth.mfa"]
MIDDLEWARE = middleware("allauth.account.middleware.AccountMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("bench.peers.layout.layout")
ROOT_URLCONF = "bench.peers.allauth_urls"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LOGIN_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
