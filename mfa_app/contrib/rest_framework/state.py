"""A token client's records between the steps of its sign-in, kept server side.

Between two requests the flows keep a few records in the session: the TOTP secret offered,
where an enrollment code went, a WebAuthn challenge. A token client keeps no cookie, so its
challenge token names a session store of its own (the key encrypted) that stands in for
``request.session`` during each step; a cookie session the request may also have is left alone.
"""

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from ... import crypto
from ...conf import app_settings


def _engine() -> Any:
    return import_module(settings.SESSION_ENGINE)


def new() -> str:
    """A new, empty store for one sign-in; returns its key, encrypted."""
    store = _engine().SessionStore()
    store.set_expiry(app_settings.CHALLENGE_TIMEOUT)
    store.create()
    return crypto.encrypt(store.session_key)


def open_store(state: Any) -> SessionBase:
    """The store ``state`` names; an empty one that will not be saved if it is unknown."""
    try:
        key = crypto.decrypt(state) if isinstance(state, str) and state else None
    except crypto.DecryptionError:
        key = None
    return _engine().SessionStore(session_key=key)


def close_store(store: SessionBase, *, finished: bool = False) -> None:
    """Keep the step's records for the next one; drop them all once the sign-in ``finished``."""
    if finished:
        if store.session_key:
            store.delete()
    elif store.modified and store.session_key:
        # A key the store did not know (expired, forged) has none now: nothing is created.
        store.save()


def throwaway() -> SessionBase:
    """A store that is never saved: what a signed-in token client's request records is lost."""
    return _engine().SessionStore()
