"""The test settings as a fresh ``startproject`` site has them for mail: nothing set."""

from .settings import *  # noqa: F403

del EMAIL_BACKEND  # noqa: F821
