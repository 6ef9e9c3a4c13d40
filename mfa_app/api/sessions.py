"""The signed-in user's other sessions: sign them all out (SES-06)."""

from django.http import HttpRequest, HttpResponse

from ..flows import manage
from .base import ApiView


class SignOutOthersView(ApiView):
    """End every other session of the user; no recent proof needed, it only takes access away."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        manage.sign_out_others(request)
        return HttpResponse(status=204)
