"""Test settings with django-two-factor-auth, which pins webauthn<2.99 and
django-phonenumber-field<9: it runs in its own virtualenv (``make test-two-factor``)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

from .required import available

MFA_TEST_PEERS = ["two_factor"] if available("two_factor") else []
if MFA_TEST_PEERS:
    INSTALLED_APPS = [
        *INSTALLED_APPS,
        "django_otp.plugins.otp_totp",
        "django_otp.plugins.otp_static",
        "formtools",
        "two_factor",
        "two_factor.plugins.phonenumber",
        "two_factor.plugins.webauthn",
    ]
MFA_WEBAUTHN_RP_ID = "testserver"
TWO_FACTOR_WEBAUTHN_RP_ID = "testserver"
TWO_FACTOR_WEBAUTHN_RP_NAME = "Test server"
