"""Small, rarely changed answers kept in the shared cache, dropped when their rows change.

Only a cache every server process shares will do (``shared_cache``): a
per-process one would keep an answer another process has changed. Without one, every call
reads the database. Within one request an answer is read once: the request keeps what it
read (a cache round trip each time cost more than the rest of the lookup), and the answers
every request may need, whoever its user, come in one round trip (``site_wide``).
"""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from asgiref.local import Local
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import request_finished, request_started
from django.db import transaction

from .conf import app_settings

T = TypeVar("T")

# Bounds a change made behind the models' backs (a QuerySet.update(), a raw UPDATE).
TIMEOUT = 300
_MISSING = object()  # not in the cache: load it
_UNREAD = object()  # not asked of the cache yet in this request

# The keys read with ``site_wide``, each added the first time it is read. Rebound, never
# changed in place, so another thread may go over it meanwhile.
_site_wide: frozenset[str] = frozenset()


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


# What the request being served has read so far (``None`` outside a request: a command or a
# task reads every time). One per thread, and per task under ASGI.
_this_request = Local()


def _request_started(**kwargs: Any) -> None:
    _this_request.answers = {}


def _request_finished(**kwargs: Any) -> None:
    _this_request.answers = None


request_started.connect(_request_started, dispatch_uid="mfa_app.shared_state.request_started")
request_finished.connect(_request_finished, dispatch_uid="mfa_app.shared_state.request_finished")


def remembered(key: str, load: Callable[[], T], *, site_wide: bool = False) -> T:
    """``load()``, from the shared cache when it holds the answer; once per request.

    ``site_wide``: an answer about the whole site (the policy, "any webhook active?"), not
    about one user; the first such answer a request reads brings the others along.
    """
    answers = getattr(_this_request, "answers", None)
    value = answers.get(key, _UNREAD) if answers is not None else _UNREAD
    if value is not _UNREAD and value is not _MISSING:
        return value
    cache = shared_cache()
    if cache is None:
        value = load()
    else:
        if value is _UNREAD:
            value = _read(cache, key, answers, site_wide)
        if value is _MISSING:
            value = load()
            cache.add(key, value, TIMEOUT)
    if answers is not None:
        answers[key] = value
    return value


def _read(cache: BaseCache, key: str, answers: dict | None, site_wide: bool) -> Any:
    if not site_wide or answers is None:
        return cache.get(key, _MISSING)
    global _site_wide
    if key not in _site_wide:
        _site_wide = _site_wide | {key}
    keys = [k for k in _site_wide if k not in answers]
    found = cache.get_many(keys)
    for k in keys:
        answers[k] = found.get(k, _MISSING)
    return answers[key]


def forget(key: str, using: str = "default") -> None:
    """Drop ``key`` now, and again once the change commits (another request may have cached
    the old answer in between, and this one read it back)."""
    _drop(key)
    transaction.on_commit(partial(_drop, key), using=using)


def _drop(key: str) -> None:
    answers = getattr(_this_request, "answers", None)
    if answers is not None:
        answers.pop(key, None)
    cache = shared_cache()
    if cache is not None:
        cache.delete(key)


def saved_using(instance: Any, **kwargs: Any) -> str:
    """The database a ``post_save``/``post_delete`` signal's change went to."""
    return kwargs.get("using") or instance._state.db or "default"
