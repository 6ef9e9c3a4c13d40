"""django-two-factor-auth as a benchmarked site: its LoginView wizard (auth, token and backup
steps) on django-otp's TOTP and static devices, as its documentation sets it up."""

from bench.peers.base_settings import *  # noqa: F403
from bench.peers.base_settings import DJANGO_APPS, TEMPLATES, middleware

BENCH_PEER = "two_factor"
BENCH_SCENARIOS = "bench.peers.two_factor_scenarios"
BENCH_PAGE_DECORATOR = "django_otp.decorators.otp_required"
BENCH_LOGOUT_URL = "logout"

INSTALLED_APPS = [
    *DJANGO_APPS,
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
]
MIDDLEWARE = middleware("django_otp.middleware.OTPMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("bench.peers.layout.layout")
ROOT_URLCONF = "bench.peers.two_factor_urls"

LOGIN_URL = "two_factor:login"
