"""Settings for the example site: SQLite by default, PostgreSQL when MFA_DB=postgres."""

import base64
import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "example-project-insecure-key-do-not-use-in-production"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "example_project.accounts",
    "mfa_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the set_language cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mfa_app.middleware.MFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
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

if os.environ.get("MFA_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "mfa_app"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            # A transaction takes SQLite's write lock when it begins, so concurrent requests
            # queue for it (up to ``timeout`` seconds) instead of failing as "database is
            # locked" when a read turns into a write (mfa_app.W005).
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 10},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# English and the languages mfa_app ships (the switcher in base.html offers them).
LANGUAGES = [
    ("en", "English"),
    ("ar", "العربية"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("he", "עברית"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt-br", "Português (Brasil)"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
    ("zh-hans", "简体中文"),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# The demo prints each code sent as one console line ("code 123456 for alice by email").
# A real site sets its own EMAIL_BACKEND (SMTP or a provider).
EMAIL_BACKEND = "example_project.accounts.demo_senders.DemoEmailBackend"
DEFAULT_FROM_EMAIL = "security@example.com"

SESSION_COOKIE_HTTPONLY = True

# mfa_app: the example's own organisations are the tenants.
MFA_TENANT_MODEL = "accounts.Organization"
MFA_TENANT_RESOLVER = "example_project.accounts.tenants.organization_for"
# Switching language (it only sets a cookie) stays open while a login waits for its challenge.
MFA_PENDING_ALLOWED_URL_NAMES = ["set_language"]

# Text messages: one console line per code here ("code 123456 for dave by SMS"). In
# production, Twilio:
#   MFA_SMS_BACKEND = "mfa_app.senders.twilio.TwilioBackend"
#   MFA_TWILIO_ACCOUNT_SID, MFA_TWILIO_AUTH_TOKEN and MFA_TWILIO_MESSAGING_SERVICE_SID from env.
MFA_SMS_BACKEND = "example_project.accounts.demo_senders.DemoSMSBackend"
# Numbers typed without a country code are read as US numbers.
PHONENUMBER_DEFAULT_REGION = "US"

# Background tasks (webhook deliveries): Django 6 has django.tasks built in, Django 5.2 takes
# the django-tasks package. The immediate backend runs each task at once, in the process that
# queued it: enough for the demo, no worker to start. In production use a real queue, e.g.
# django-tasks-db ("django_tasks_db" in INSTALLED_APPS, then `manage.py db_worker`):
#   TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASKS = {
    "default": {
        "BACKEND": ("django.tasks" if django.VERSION >= (6, 0) else "django_tasks")
        + ".backends.immediate.ImmediateBackend"
    }
}
# Webhook receivers on this machine (http://127.0.0.1:...) are fine while developing.
MFA_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = DEBUG

# Keys encrypting TOTP secrets at rest, newest first (comma-separated in the environment).
# The fallback is a development key anyone can read here: in production set your own, made
# with Fernet.generate_key() (``manage.py check`` warns about this one when DEBUG is off).
_development_key = base64.urlsafe_b64encode(b"mfa_app example: development key").decode()
MFA_ENCRYPTION_KEYS = [
    key.strip()
    for key in os.environ.get("MFA_ENCRYPTION_KEYS", _development_key).split(",")
    if key.strip()
]
