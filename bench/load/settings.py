"""The example site as the load test serves it: gunicorn, PostgreSQL and Redis on loopback.

``bench/load/run.sh`` sets the environment: ``PG*`` for its throwaway PostgreSQL cluster,
``REDIS_URL`` for its redis-server, ``BENCH_HASHER`` (``md5`` unless told otherwise, as in
``bench/settings.py``) and, for the brute-force runs, ``MFA_LOCKOUT_*`` overrides.
"""

import os

from bench.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGDATABASE", "mfa_app"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        # One connection per gunicorn worker, kept between requests as in production.
        "CONN_MAX_AGE": 300,
        "CONN_HEALTH_CHECKS": True,
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
}
# Sessions read from Redis and written through to PostgreSQL, as many production sites do.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The load generator stands in for one reverse proxy: the client's address is the last
# X-Forwarded-For entry, so that each simulated user has an IP of their own (the per-IP limit
# on MFA answers counts per client, not per load generator).
MFA_TRUSTED_PROXY_COUNT = 1

for _name in ("THRESHOLD", "DELAY_AFTER", "BASE_DELAY", "MAX_DELAY", "DURATION"):
    if os.environ.get(f"MFA_LOCKOUT_{_name}"):
        globals()[f"MFA_LOCKOUT_{_name}"] = int(os.environ[f"MFA_LOCKOUT_{_name}"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # 400 and 429 answers are the brute force's whole point: no line per answer.
    "loggers": {"django.request": {"level": "ERROR"}},
}
