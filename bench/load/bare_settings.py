"""The load test's bare site: ``bench/load/settings.py`` with mfa_app's effects switched off,
as ``bench/bare_settings.py`` does for the in-process benchmarks."""

from bench.load.settings import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if m != "mfa_app.middleware.MFAMiddleware"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.bare_app.BareSiteConfig"]  # noqa: F405
