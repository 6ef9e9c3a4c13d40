"""The example site plus a few pages guarded by step-up MFA, for tests/test_step_up.py."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views import View

from example_project.urls import urlpatterns as site_urlpatterns
from mfa_app.decorators import MFARequiredMixin, mfa_required


@mfa_required
def any_mfa(request: HttpRequest) -> HttpResponse:
    return HttpResponse("any MFA")


@mfa_required(max_age=300, factors=["WEBAUTHN"])
def keys_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("keys only")


@mfa_required(max_age=300)
def api_secret(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"secret": 42})


class MixinPage(MFARequiredMixin, View):
    mfa_max_age = 60
    mfa_factors = ["TOTP"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("mixin page")


urlpatterns = [
    *site_urlpatterns,
    path("step-up-test/any/", any_mfa, name="any_mfa"),
    path("step-up-test/keys/", keys_only, name="keys_only"),
    path("step-up-test/api/", api_secret, name="api_secret"),
    path("step-up-test/mixin/", MixinPage.as_view(), name="mixin_page"),
]
