"""Rate limits kept in the database, so that every server process counts against the same rows.

Each limit is one row. A hit is one conditional UPDATE that succeeds only while the limit has
room, so a burst of parallel requests cannot get past it, whatever the number of processes.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from . import clock, errors
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
            if _count(limit, now):
                continue
            # No row yet (its first hit), or no room: create the row if missing, then retry.
            RateLimit.objects.bulk_create(
                [RateLimit(key=limit.key, window_started_at=now)], ignore_conflicts=True
            )
            if not _count(limit, now):
                # Raising inside the transaction takes back the hits already counted.
                raise errors.RateLimited(retry_after=retry_after(limit, now))


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
