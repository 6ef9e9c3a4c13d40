"""Database rate limits: windows, cooldowns, all-or-nothing hits, refunds."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mfa_app import errors, throttle
from mfa_app.models import RateLimit

DAY = timedelta(days=1)


def at(seconds: float) -> time_machine.travel:
    return time_machine.travel(START + timedelta(seconds=seconds), tick=False)


START = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _db(db):
    pass


def test_a_window_allows_its_hits_then_refuses_until_it_ends():
    limit = throttle.Limit("k", max_hits=3, window=DAY)
    with at(0):
        for _ in range(3):
            throttle.hit([limit])
        with pytest.raises(errors.RateLimited) as refused:
            throttle.hit([limit])
    assert refused.value.extra["retry_after"] == 86400
    with at(86399):
        with pytest.raises(errors.RateLimited) as refused:
            throttle.hit([limit])
        assert refused.value.extra["retry_after"] == 1
    with at(86400):
        throttle.hit([limit])
    assert RateLimit.objects.get(key="k").count == 1


def test_a_cooldown_spaces_hits_out():
    limit = throttle.Limit("k", max_hits=100, window=DAY, cooldown=timedelta(seconds=30))
    with at(0):
        throttle.hit([limit])
    with at(10), pytest.raises(errors.RateLimited) as refused:
        throttle.hit([limit])
    assert refused.value.extra["retry_after"] == 20
    with at(30):
        throttle.hit([limit])


def test_a_refused_hit_counts_against_none_of_the_limits():
    roomy = throttle.Limit("roomy", max_hits=10, window=DAY)
    full = throttle.Limit("full", max_hits=1, window=DAY)
    throttle.hit([full])
    with pytest.raises(errors.RateLimited):
        throttle.hit([roomy, full])
    assert not RateLimit.objects.filter(key="roomy", count__gt=0).exists()


def test_a_refund_gives_back_the_hit_but_not_the_cooldown():
    limit = throttle.Limit("k", max_hits=1, window=DAY, cooldown=timedelta(seconds=30))
    with at(0):
        throttle.hit([limit])
        throttle.refund([limit])
    assert RateLimit.objects.get(key="k").count == 0
    with at(5), pytest.raises(errors.RateLimited):
        throttle.hit([limit])
    with at(31):
        throttle.hit([limit])
