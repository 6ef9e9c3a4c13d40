"""What every peer site shares with the example site as benchmarked (``bench/settings.py``).

The same Django apps and middleware (less mfa_app's), the same SQLite options on a fresh
file, the same single password hasher (``BENCH_HASHER``), DEBUG off, sessions in the database,
the default (local memory) cache. Nothing of mfa_app is imported: a peer site runs in the
peers' virtualenv (bench/README.md), where mfa_app is not installed.
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

SECRET_KEY = "bench-peer-site-insecure-key-do-not-use-anywhere-else"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

# The example site's stack; each peer inserts its own middleware after AuthenticationMiddleware.
BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def middleware(*after_authentication: str) -> list[str]:
    at = BASE_MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    return [*BASE_MIDDLEWARE[:at], *after_authentication, *BASE_MIDDLEWARE[at:]]


TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", "/tmp/bench-peer.sqlite3"),  # noqa: S108
        # As the example site: a transaction takes SQLite's write lock when it begins.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 10},
    }
}

HASHERS = {
    "md5": "django.contrib.auth.hashers.MD5PasswordHasher",
    "pbkdf2": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
}
PASSWORD_HASHERS = [HASHERS[os.environ.get("BENCH_HASHER", "md5")]]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
