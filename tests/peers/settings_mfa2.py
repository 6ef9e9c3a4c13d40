"""Test settings with django-mfa2 (``make test-peers``)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

from .required import available

MFA_TEST_PEERS = ["mfa2"] if available("mfa") else []
INSTALLED_APPS = [*INSTALLED_APPS, "mfa"] if MFA_TEST_PEERS else INSTALLED_APPS
MFA_WEBAUTHN_RP_ID = "testserver"
# django-mfa2's relying party.
FIDO_SERVER_ID = "testserver"
FIDO_SERVER_NAME = "Test server"
# django-mfa2 hashes its recovery codes with its own hasher, which must be listed.
PASSWORD_HASHERS = [*PASSWORD_HASHERS, "mfa.recovery.Hash"]  # noqa: F405
