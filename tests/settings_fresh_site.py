"""A site as ``startproject`` makes it, plus only what the README's "Adding it to a site" asks.

No EMAIL_BACKEND, no TASKS, no SMS or Twilio settings, no CACHES: what a new adopter has.
The database and mail port come from the environment so a test can point them somewhere safe.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "django-insecure-fresh-site-for-tests"
DEBUG = os.environ.get("FRESH_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "mfa_app",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mfa_app.middleware.MFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tests.fresh_site_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
        "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "fresh.sqlite3"),
    }
}
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

# "Adding it to a site": the key, read from the environment.
MFA_ENCRYPTION_KEYS = ["axAWkFGBqN71sZRIZJxRZH7wwTCMFbFxVvlRc3JKYc8="]
# Django's default is localhost:25; a test points it at a port where nothing listens.
EMAIL_PORT = int(os.environ.get("FRESH_EMAIL_PORT", "25"))
EMAIL_TIMEOUT = 5
