"""Signing a user's sessions out everywhere, whatever the session backend (SES-06).

Each user has a session epoch (``UserState.session_epoch``); a session records the epoch it
signed in under, and the middleware signs out one whose epoch is older. Raising the epoch
ends every session at once: database, cache and signed-cookie sessions alike, as nothing
needs to find or delete them.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from .. import events
from ..models import UserState
from ..shared_state import shared_cache
from .status import Kind

# An epoch only grows, so a cached value can only be stale by being too low: it is written
# (never deleted) after the raise commits, and a miss fills it with ``add``, which cannot
# overwrite a newer value written meanwhile.
_CACHE_SECONDS = 24 * 3600


def session_epoch(user_pk: Any) -> int:
    """The epoch a session of user ``user_pk`` must have been signed in under to stay valid."""
    cache = shared_cache()
    key = _cache_key(user_pk)
    if cache is not None:
        cached = cache.get(key)
        if isinstance(cached, int):
            return cached
    try:
        epochs = UserState.objects.filter(user_id=user_pk).values_list("session_epoch", flat=True)
        value = next(iter(epochs), 0)
    except (ValidationError, ValueError):
        return 0
    if cache is not None:
        cache.add(key, value, _CACHE_SECONDS)
    return value


def epoch_read(user_pk: Any, epoch: int) -> None:
    """The caller read the user's epoch from the database: cache it, as ``session_epoch`` does."""
    cache = shared_cache()
    if cache is not None:
        cache.add(_cache_key(user_pk), epoch, _CACHE_SECONDS)


def sign_out_other_sessions(
    user: Any, request: HttpRequest | None = None, actor: Any = None
) -> int:
    """End every session of ``user`` at its next request; return the new epoch (audited).

    A caller that keeps its own session records the returned epoch in it (the flows do).
    """
    with transaction.atomic():
        UserState.objects.get_or_create(user=user)
        UserState.objects.filter(user=user).update(session_epoch=F("session_epoch") + 1)
        epoch = UserState.objects.values_list("session_epoch", flat=True).get(user=user)
        transaction.on_commit(lambda: _remember(user.pk, epoch))
        events.record(Kind.SESSIONS_ENDED, user, request, actor=actor, epoch=epoch)
    return epoch


def _remember(user_pk: Any, epoch: int) -> None:
    cache = shared_cache()
    if cache is not None:
        cache.set(_cache_key(user_pk), epoch, _CACHE_SECONDS)


def _cache_key(user_pk: Any) -> str:
    return f"mfa_app:session_epoch:{user_pk}"
