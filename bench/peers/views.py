"""The pages a peer site shows: the landing page and the private page, each behind the
decorator that peer documents for "signed in (and verified)"."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.module_loading import import_string


def _protected(template: str):
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template)

    return import_string(settings.BENCH_PAGE_DECORATOR)(view)


home = _protected("peers/home.html")
private = _protected("peers/private.html")
