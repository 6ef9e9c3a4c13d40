"""The pages a peer site shows: the landing page and the private page, each behind the
decorator that peer documents for "signed in (and verified)"; the layout's links."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.module_loading import import_string


def _protected(template: str):
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template)

    return import_string(settings.BENCH_PAGE_DECORATOR)(view)


home = _protected("peers/home.html")
private = _protected("peers/private.html")


def layout(request: HttpRequest) -> dict[str, str]:
    """Context processor: the peer's own sign-in and sign-out URLs for the layout."""
    return {
        "bench_peer": settings.BENCH_PEER,
        "login_url": resolve_url(settings.LOGIN_URL),
        "logout_url": resolve_url(settings.BENCH_LOGOUT_URL),
    }
