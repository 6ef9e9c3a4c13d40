"""Secrets at rest: Fernet with the keys in ``MFA_ENCRYPTION_KEYS``, newest first.

The newest key encrypts; every listed key decrypts. Nothing here ever puts a key, a secret or
a token in a message.
"""

from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.utils.translation import gettext

from .conf import app_settings

# Every Fernet token starts with version byte 0x80 and a 64-bit timestamp whose high bits
# are zero for the next two millennia; base32 TOTP secrets never start with a lower-case g.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)
GENERATE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class DecryptionError(SuspiciousOperation):
    """A stored token that no key in ``MFA_ENCRYPTION_KEYS`` opens (removed key, or tampering).

    A ``SuspiciousOperation``: reaching Django's handler it becomes a 400 response logged on
    ``django.security.DecryptionError``, never a 500 and never a wrong secret used silently.
    """


class KeyProblem(NamedTuple):
    position: int | None  # the index in MFA_ENCRYPTION_KEYS, None for the setting as a whole
    message: str


def key_problems(keys: Any) -> list[KeyProblem]:
    """What is wrong with ``keys`` as an ``MFA_ENCRYPTION_KEYS`` value; empty if nothing."""
    if not keys:
        return [
            KeyProblem(None, gettext("MFA_ENCRYPTION_KEYS is not set: secrets cannot be stored."))
        ]
    if not isinstance(keys, list | tuple):
        return [
            KeyProblem(None, gettext("MFA_ENCRYPTION_KEYS must be a list of keys, newest first."))
        ]
    return [
        KeyProblem(
            i,
            gettext(
                "MFA_ENCRYPTION_KEYS[%(position)s] is not a Fernet key (32 bytes in URL-safe "
                "base64, 44 characters)."
            )
            % {"position": i},
        )
        for i, key in enumerate(keys)
        if _fernet_or_none(key) is None
    ]


def _fernet_or_none(key: Any) -> Fernet | None:
    try:
        return Fernet(key)
    except (TypeError, ValueError):  # binascii.Error is a ValueError
        return None


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str | bytes, ...]) -> tuple[MultiFernet, Fernet]:
    problems = key_problems(keys)
    if problems:
        raise ImproperlyConfigured(f"{problems[0].message} Run manage.py check for details.")
    fernets = [Fernet(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def keyring() -> tuple[MultiFernet, Fernet]:
    """All configured keys, and the newest one alone; raise ``ImproperlyConfigured`` if bad."""
    keys = app_settings.ENCRYPTION_KEYS
    if isinstance(keys, list | tuple) and all(isinstance(key, str | bytes) for key in keys):
        return _keyring(tuple(keys))
    raise ImproperlyConfigured(f"{key_problems(keys)[0].message} Run manage.py check for details.")


def is_token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def encrypt(value: str) -> str:
    return keyring()[0].encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return keyring()[0].decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(_UNREADABLE) from exc


def is_current(token: str) -> bool:
    """Whether the newest key alone opens ``token`` (so rotating it would change nothing)."""
    try:
        keyring()[1].decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def rotate(token: str) -> str:
    """``token`` encrypted again under the newest key; raise ``DecryptionError`` if unreadable."""
    try:
        return keyring()[0].rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(_UNREADABLE) from exc


_UNREADABLE = (
    "A stored secret could not be decrypted with any key in MFA_ENCRYPTION_KEYS: the key that "
    "encrypted it was removed, or the value was altered."
)
