"""Test settings: the example site, plus a custom user model when MFA_TEST_CUSTOM_USER=1."""

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import INSTALLED_APPS, TASKS

# Tests hash many passwords; the hasher is not what they are about.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

CUSTOM_USER = os.environ.get("MFA_TEST_CUSTOM_USER") == "1"
if CUSTOM_USER:
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.custom_user"]
    AUTH_USER_MODEL = "custom_user.EmailUser"
MFA_SMS_BACKEND = "mfa_app.senders.locmem.LocMemBackend"

# Webhook deliveries go through django-tasks-db's database queue, on an alias of their own, so
# tests/test_webhooks.py runs its real worker (deferred retries included) while any other task
# keeps the immediate backend. Receivers in the tests listen on 127.0.0.1.
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {
    **TASKS,
    "webhooks": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
MFA_WEBHOOK_TASK_BACKEND = "webhooks"
MFA_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

# A fixed random key (the example's development key would raise mfa_app.W003 with DEBUG off).
MFA_ENCRYPTION_KEYS = ["axAWkFGBqN71sZRIZJxRZH7wwTCMFbFxVvlRc3JKYc8="]

# Token clients (mfa_app.contrib.rest_framework): DRF, its token keys and Simple JWT, for
# tests/test_drf_*.py, whose URLconf (tests/drf_urls.py) routes the token views.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework.authtoken"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mfa_app.contrib.rest_framework.authentication.JWTAuthentication",
        "mfa_app.contrib.rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# The passkey offer after a password sign-in would put one more page in front of every test
# that signs in; tests/test_passkey_offer.py and the browser suite's offer test turn it on.
MFA_PASSKEY_OFFER = False
