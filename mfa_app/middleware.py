"""Route a pending login to its MFA step; every other page stays closed to it."""

from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils.http import urlencode

from . import busy, devices, login_state
from .conf import app_settings
from .flows import passkey_offer, signin
from .replies import pending_response


class MFAMiddleware:
    """Place after ``AuthenticationMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Signed out everywhere since this session signed in: it goes on as an anonymous one.
        signin.signed_out_elsewhere(request)
        pending = login_state.get_pending(request)
        if pending is not None:
            match = _resolve(request)
            if pending.expired:
                # The session goes on as an anonymous one; MFA pages explain what happened.
                if not _pending_may_open(request, match):
                    login_state.drop(request)
            elif not _pending_may_open(request, match):
                return _send_to_mfa(request, pending, match)
        elif passkey_offer.due(request):
            offer = _offer_passkey(request)
            if offer is not None:
                return offer
        response = self.get_response(request)
        if pending is None and request.method == "POST":
            response = _straight_to_mfa(request, response)
        # A sign-in in this request may have given the browser its device token.
        devices.set_cookie_if_new(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A database lock held too long (SQLite under load) is a 503 to retry, not a 500."""
        if not busy.is_busy(exception):
            return None
        if _answers_json(request, getattr(request, "resolver_match", None)):
            return busy.json_response(request)
        return busy.page_response(request)


def _resolve(request: HttpRequest) -> ResolverMatch | None:
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None


def _view(match: ResolverMatch | None) -> object:
    """The view class of a class-based view, else the view function."""
    if match is None:
        return None
    return getattr(match.func, "view_class", None) or match.func


def _pending_may_open(request: HttpRequest, match: ResolverMatch | None) -> bool:
    for prefix in (settings.STATIC_URL, getattr(settings, "MEDIA_URL", "")):
        if prefix and prefix.startswith("/") and prefix != "/" and request.path.startswith(prefix):
            return True
    if match is None:
        return False
    view = _view(match)
    if getattr(view, "mfa_pending_allowed", False):
        return True
    if isinstance(view, type) and issubclass(view, LogoutView):
        return True
    allowed = app_settings.PENDING_ALLOWED_URL_NAMES
    return match.view_name in allowed or match.url_name in allowed


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _answers_json(request: HttpRequest, match: ResolverMatch | None) -> bool:
    return wants_json(request) or getattr(_view(match), "mfa_api", False)


# Pages the passkey offer never interrupts: mfa_app's own (new recovery codes to save, say)
# and the admin's.
OFFER_SKIPS_NAMESPACES = ("mfa_app", "admin")


def _offer_passkey(request: HttpRequest) -> HttpResponse | None:
    """The first page a person opens after a password sign-in: the passkey offer first."""
    if request.method != "GET" or wants_json(request):
        return None
    match = _resolve(request)
    if match is None or _answers_json(request, match) or _pending_may_open(request, match):
        return None
    if set(match.namespaces) & set(OFFER_SKIPS_NAMESPACES):
        return None
    if isinstance(_view(match), type) and issubclass(_view(match), LogoutView):
        return None
    passkey_offer.shown(request)
    url = reverse("mfa_app:passkey_offer")
    return HttpResponseRedirect(f"{url}?{urlencode({'next': request.get_full_path()})}")


def _straight_to_mfa(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A password sign-in that started a pending login goes straight to its MFA page.

    The login view redirects to where a signed-in user goes; the pending login could not
    open that page and would only be redirected again. It is kept as the place to continue
    to once MFA is passed, if the login form named none.
    """
    if not isinstance(response, HttpResponseRedirect) or _answers_json(request, None):
        return response
    started = login_state.get_pending(request)
    if started is None or started.expired or login_state.carried(request):
        return response
    if not started.next_url:
        target = login_state.safe_next(request, response["Location"])
        if target and target != resolve_url(settings.LOGIN_REDIRECT_URL):
            login_state.start_pending(request, replace(started, next_url=target))
    response["Location"] = _mfa_url(started)
    return response


def _mfa_url(pending: login_state.PendingLogin) -> str:
    return reverse(
        "mfa_app:enroll" if pending.reason == login_state.ENROLL else "mfa_app:challenge"
    )


def _send_to_mfa(
    request: HttpRequest, pending: login_state.PendingLogin, match: ResolverMatch | None
) -> HttpResponse:
    if _answers_json(request, match):
        # The same status body as the JSON API's: what the login needs, and how to give it.
        response = pending_response(request)
        if response is not None:
            return response
    return HttpResponseRedirect(_mfa_url(pending))
