"""The layout every benchmarked site renders its pages in (``peers/base.html``): its links."""

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url


def layout(request: HttpRequest) -> dict[str, str]:
    """Context processor: the site's name and its own sign-in and sign-out URLs."""
    return {
        "bench_peer": settings.BENCH_PEER,
        "login_url": resolve_url(settings.LOGIN_URL),
        "logout_url": resolve_url(settings.BENCH_LOGOUT_URL),
    }
