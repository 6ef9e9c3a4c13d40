"""Test settings with django-otp's plugins and allauth.mfa (``make test-peers``); django-mfa2
has its own (its app label, ``mfa``, is allauth.mfa's too)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

from .required import available

INSTALLED_APPS = [*INSTALLED_APPS, "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
# The peers whose tests (tests/peers/test_<peer>.py) run with these settings.
MFA_TEST_PEERS = ["django_otp"]
if available("allauth"):
    INSTALLED_APPS += ["allauth", "allauth.account", "allauth.mfa"]
    # allauth refuses to start without its middleware.
    MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
    MFA_TEST_PEERS.append("allauth")
MFA_WEBAUTHN_RP_ID = "testserver"
