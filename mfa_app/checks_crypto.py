"""System checks for ``MFA_ENCRYPTION_KEYS``: a bad key fails here, never at a login."""

import base64
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.translation import gettext

from .conf import app_settings
from .crypto import GENERATE_KEY, key_problems


def _hint(*, drop_the_old_key: bool = False) -> str:
    """How to make a good key, in the active language (so built at check time)."""
    if drop_the_old_key:
        hint = gettext(
            "Generate a key with: %(command)s and list it first in MFA_ENCRYPTION_KEYS "
            "(a list, newest first; keep older keys listed until manage.py mfa_rotate_keys has "
            "run). Then drop the old key."
        )
    else:
        hint = gettext(
            "Generate a key with: %(command)s and list it first in MFA_ENCRYPTION_KEYS "
            "(a list, newest first; keep older keys listed until manage.py mfa_rotate_keys has "
            "run)."
        )
    return hint % {"command": GENERATE_KEY}


@register()
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list:
    keys = app_settings.ENCRYPTION_KEYS
    problems = [
        Error(
            problem.message,
            hint=_hint(),
            id="mfa_app.E010" if problem.position is None else "mfa_app.E011",
        )
        for problem in key_problems(keys)
    ]
    if not problems and not settings.DEBUG and _looks_handmade(keys[0]):
        problems.append(
            Warning(
                gettext(
                    "MFA_ENCRYPTION_KEYS[0], the key that encrypts, looks hand-made (like the "
                    "example project's development key), yet DEBUG is off."
                ),
                hint=_hint(drop_the_old_key=True),
                id="mfa_app.W003",
            )
        )
    return problems


def _looks_handmade(key: str | bytes) -> bool:
    """Whether ``key`` decodes to text or few distinct bytes: never so from a random source."""
    raw = base64.urlsafe_b64decode(key)
    return all(32 <= byte < 127 for byte in raw) or len(set(raw)) < 8
