"""The example site as benchmarked: DEBUG off and one password hasher for every run.

``BENCH_HASHER``: ``md5`` (default: the password check costs microseconds, so a login's time
is the framework's and mfa_app's) or ``pbkdf2`` (Django's default, 1,000,000 iterations).
"""

import os

from example_project.settings import *  # noqa: F403

DEBUG = False

HASHERS = {
    "md5": "django.contrib.auth.hashers.MD5PasswordHasher",
    "pbkdf2": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
}
PASSWORD_HASHERS = [HASHERS[os.environ.get("BENCH_HASHER", "md5")]]
