"""Small, rarely changed answers kept in the shared cache, dropped when their rows change.

Only a cache every server process shares will do (``shared_cache``): a
per-process one would keep an answer another process has changed. Without one, every call
reads the database.
"""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from .conf import app_settings

T = TypeVar("T")

# Bounds a change made behind the models' backs (a QuerySet.update(), a raw UPDATE).
TIMEOUT = 300
_MISSING = object()


def shared_cache() -> BaseCache | None:
    """``MFA_SESSION_EPOCH_CACHE`` if every server process shares it, else ``None``.

    A per-process cache (local memory) would keep a raised epoch from the other processes,
    so their sessions would live on: then the database is read instead.
    """
    alias = app_settings.SESSION_EPOCH_CACHE
    if not alias:
        return None
    try:
        cache = caches[alias]
    except InvalidCacheBackendError:
        return None
    return None if isinstance(cache, LocMemCache | DummyCache) else cache


def remembered(key: str, load: Callable[[], T]) -> T:
    """``load()``, from the shared cache when it holds the answer."""
    cache = shared_cache()
    if cache is None:
        return load()
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = load()
        cache.add(key, value, TIMEOUT)
    return value


def forget(key: str, using: str = "default") -> None:
    """Drop ``key`` now, and again once the change commits (a request may have cached the
    old answer in between)."""
    cache = shared_cache()
    if cache is None:
        return
    cache.delete(key)
    transaction.on_commit(partial(cache.delete, key), using=using)


def saved_using(instance: Any, **kwargs: Any) -> str:
    """The database a ``post_save``/``post_delete`` signal's change went to."""
    return kwargs.get("using") or instance._state.db or "default"
