"""The bare site: the same settings, templates and URLs, with mfa_app's effects switched off.

mfa_app stays installed so that the shared templates (which link to its pages and static
files) still render; its middleware is removed and ``bench.bare_app`` disconnects the
``user_logged_in`` receiver that turns a login into a pending one. What is left is a plain
Django site: a login is one password check, a request is the session and the user.
"""

from bench.settings import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if m != "mfa_app.middleware.MFAMiddleware"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.bare_app.BareSiteConfig"]  # noqa: F405
