"""``GET status/``: where the session stands, and the CSRF cookie a client starts from."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie

from .base import ApiView
from .responses import NotAuthenticated, error_response
from .serializers import pending_response, status_body


class StatusView(ApiView):
    """Signed in: the user's MFA; pending: what the login still needs; else ``401``."""

    mfa_pending_allowed = True
    http_method_names = ["get", "head"]

    def authorize(self, request: HttpRequest) -> None:
        # Every caller gets an answer (and the cookie): the handler tells them apart.
        return None

    @method_decorator(ensure_csrf_cookie)
    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return JsonResponse(status_body(request, request.user))
        return pending_response(request) or error_response(NotAuthenticated())
