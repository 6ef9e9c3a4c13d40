"""The example site as benchmarked: DEBUG off and one password hasher for every run.

``BENCH_HASHER``: ``md5`` (default: the password check costs microseconds, so a login's time
is the framework's and mfa_app's) or ``pbkdf2`` (Django's default, 1,000,000 iterations).
"""

import os
from pathlib import Path

from example_project.settings import *  # noqa: F403

DEBUG = False

HASHERS = {
    "md5": "django.contrib.auth.hashers.MD5PasswordHasher",
    "pbkdf2": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
}
PASSWORD_HASHERS = [HASHERS[os.environ.get("BENCH_HASHER", "md5")]]

# The layout around every page is the peers' (bench/peers/templates/peers/base.html, through
# bench/templates/base.html): the example site's own adds a menu of its 15 languages and a
# pending-login link, about 1 ms a page that no peer site renders.
BENCH_PEER = "mfa_app"
BENCH_LOGOUT_URL = "logout"
_here = Path(__file__).parent
_site_templates = TEMPLATES[0]  # noqa: F405
TEMPLATES = [
    {
        **_site_templates,
        "DIRS": [_here / "templates", _here / "peers" / "templates", *_site_templates["DIRS"]],
        "OPTIONS": {
            **_site_templates["OPTIONS"],
            "context_processors": [
                *_site_templates["OPTIONS"]["context_processors"],
                "bench.peers.layout.layout",
            ],
        },
    }
]

# A cache every process of the site shares, as in production: mfa_app keeps the session epochs,
# the configured policy and whether any webhook is active there. bench/run.py starts a
# throwaway redis-server for it (bench/shared_cache.py); without one, a file cache next to the
# site's database stands in. Each site has its own key prefix: they share the server.
if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"],
            "KEY_PREFIX": os.path.basename(DATABASES["default"]["NAME"]),  # noqa: F405
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": f"{DATABASES['default']['NAME']}.cache",  # noqa: F405
        }
    }

# The peers have no passkey offer (a page shown once after a password sign-in): off, so that
# every site's sign-in ends on the same page. On, an answer costs one more statement.
MFA_PASSKEY_OFFER = False

# Security emails go to a queue, as on a production site (the example's immediate backend
# renders and sends each one inside the request: S5's recovery-code email, about 5.6 ms).
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]  # noqa: F405
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
