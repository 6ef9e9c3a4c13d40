"""Route a pending login to its MFA step; every other page stays closed to it."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse

from . import devices, login_state
from .conf import app_settings


class MFAMiddleware:
    """Place after ``AuthenticationMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pending = login_state.get_pending(request)
        if pending is not None:
            if pending.expired:
                # The session goes on as an anonymous one; MFA pages explain what happened.
                if not _pending_may_open(request):
                    login_state.drop(request)
            elif not _pending_may_open(request):
                return _send_to_mfa(request, pending)
        response = self.get_response(request)
        # A sign-in in this request may have given the browser its device token.
        devices.set_cookie_if_new(request, response)
        return response


def _pending_may_open(request: HttpRequest) -> bool:
    path = request.path_info
    for prefix in (settings.STATIC_URL, getattr(settings, "MEDIA_URL", "")):
        if prefix and prefix.startswith("/") and prefix != "/" and request.path.startswith(prefix):
            return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    if getattr(view_class or match.func, "mfa_pending_allowed", False):
        return True
    if view_class is not None and issubclass(view_class, LogoutView):
        return True
    allowed = app_settings.PENDING_ALLOWED_URL_NAMES
    return match.view_name in allowed or match.url_name in allowed


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _send_to_mfa(request: HttpRequest, pending: login_state.PendingLogin) -> HttpResponse:
    enrolling = pending.reason == login_state.ENROLL
    url = reverse("mfa_app:enroll" if enrolling else "mfa_app:challenge")
    if wants_json(request):
        status = "MFA_ENROLLMENT_REQUIRED" if enrolling else "MFA_REQUIRED"
        return JsonResponse(
            {"status": status, "url": url, "expires_at": int(pending.expires_at)}, status=401
        )
    return HttpResponseRedirect(url)
