"""Rate limits kept in the database, so that every server process counts against the same rows.

Each limit is one row. A hit is one conditional UPDATE that succeeds only while the limit has
room, so a burst of parallel requests cannot get past it, whatever the number of processes.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from . import clock, errors, upsert
from .models import RateLimit


@dataclass(frozen=True)
class Limit:
    key: str
    # Hits allowed per window; the window starts at the first hit after the previous one ended.
    max_hits: int
    window: timedelta
    # Time that must pass between two hits (0: none).
    cooldown: timedelta = timedelta(0)


def hit(limits: list[Limit], now: datetime | None = None) -> None:
    """Count one hit against every limit, or against none: raise ``RateLimited`` if one is full."""
    now = now or clock.now()
    # Several limits move together or not at all; one limit is a single statement already.
    with transaction.atomic() if len(limits) > 1 else nullcontext():
        for limit in limits:
            if _can_upsert(limit):
                counted = _upsert(limit, now)
            elif not (counted := _count(limit, now)):
                # No row yet (its first hit), or no room: create the row if missing, then retry.
                RateLimit.objects.bulk_create(
                    [RateLimit(key=limit.key, window_started_at=now)], ignore_conflicts=True
                )
                counted = _count(limit, now)
            if not counted:
                # Raising inside the transaction takes back the hits already counted.
                raise errors.RateLimited(retry_after=retry_after(limit, now))


def _can_upsert(limit: Limit) -> bool:
    return limit.max_hits > 0 and upsert.supported(upsert.connection_for(RateLimit))


@lru_cache(maxsize=8)
def _upsert_sql(vendor: str, cooldown: bool) -> tuple[str, str]:
    """The SET and WHERE of a hit, for ``vendor``: built once, every answer needs them."""
    connection = upsert.connection_for(RateLimit)
    q = connection.ops.quote_name
    table = q(RateLimit._meta.db_table)
    started, count, last = (
        f"{table}.{q(name)}" for name in ("window_started_at", "count", "last_hit_at")
    )
    window_over = f"{started} <= %s"
    set_sql = (
        f"{q('count')} = CASE WHEN {window_over} THEN 1 ELSE {count} + 1 END, "
        f"{q('window_started_at')} = CASE WHEN {window_over} THEN %s ELSE {started} END, "
        f"{q('last_hit_at')} = %s"
    )
    where_sql = f"({window_over} OR {count} < %s)"
    if cooldown:
        where_sql += f" AND ({last} IS NULL OR {last} <= %s)"
    return set_sql, where_sql


def _upsert(limit: Limit, now: datetime) -> bool:
    """The hit in one statement: the row is created by its first hit."""
    connection = upsert.connection_for(RateLimit)
    set_sql, where_sql = _upsert_sql(connection.vendor, bool(limit.cooldown))
    at = upsert.prep(RateLimit, "window_started_at", now, connection)
    window_start = upsert.prep(RateLimit, "window_started_at", now - limit.window, connection)
    params = [window_start, window_start, at, at, window_start, limit.max_hits]
    if limit.cooldown:
        params.append(upsert.prep(RateLimit, "last_hit_at", now - limit.cooldown, connection))
    insert = upsert.insert_values(
        RateLimit,
        connection,
        {"key": limit.key, "window_started_at": now, "count": 1, "last_hit_at": now},
    )
    return upsert.run(RateLimit, connection, "key", insert, set_sql, where_sql, params) is not None


def _count(limit: Limit, now: datetime) -> bool:
    """One conditional UPDATE: count the hit if the limit has room."""
    window_over = Q(window_started_at__lte=now - limit.window)
    room = window_over | Q(count__lt=limit.max_hits)
    if limit.cooldown:
        room &= Q(last_hit_at__isnull=True) | Q(last_hit_at__lte=now - limit.cooldown)
    return bool(
        RateLimit.objects.filter(room, key=limit.key).update(
            count=Case(When(window_over, then=Value(1)), default=F("count") + 1),
            window_started_at=Case(
                When(window_over, then=Value(now)), default=F("window_started_at")
            ),
            last_hit_at=now,
        )
    )


def refund(limits: list[Limit]) -> None:
    """Give back one hit (the send it paid for failed); cooldowns still run."""
    RateLimit.objects.filter(key__in=[limit.key for limit in limits], count__gt=0).update(
        count=F("count") - 1
    )


def retry_after(limit: Limit, now: datetime) -> int:
    """Whole seconds until ``limit`` has room again."""
    row = RateLimit.objects.filter(key=limit.key).first()
    if row is None:
        return 0
    waits = [row.window_started_at + limit.window - now] if row.count >= limit.max_hits else []
    if limit.cooldown and row.last_hit_at is not None:
        waits.append(row.last_hit_at + limit.cooldown - now)
    return max(0, math.ceil(max(waits, default=timedelta(0)).total_seconds()))


def hit_for_ip(request: Any, kind: str, max_hits: int, window: timedelta) -> None:
    """Count one ``kind`` of request from the client's IP (nothing without a request or IP)."""
    from .client_ip import client_ip

    ip = client_ip(request)
    if ip:
        hit([Limit(f"ip:{kind}:{ip}", max_hits, window)])
