"""The example site plus the token views and a few DRF endpoints, for tests/test_drf_*.py."""

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from example_project.urls import urlpatterns as site_urlpatterns
from mfa_app.contrib.rest_framework.permissions import IsMFAVerified


class Profile(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username()})


class Secret(APIView):
    permission_classes = [IsAuthenticated, IsMFAVerified]

    def get(self, request: Request) -> Response:
        return Response({"secret": 42})


class Payout(APIView):
    permission_classes = [IsAuthenticated, IsMFAVerified.within(60)]

    def post(self, request: Request) -> Response:
        return Response({"paid": True})


urlpatterns = [
    *site_urlpatterns,
    path("api/auth/", include("mfa_app.contrib.rest_framework.urls")),
    path("api/auth/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("drf-test/profile/", Profile.as_view(), name="drf_profile"),
    path("drf-test/secret/", Secret.as_view(), name="drf_secret"),
    path("drf-test/payout/", Payout.as_view(), name="drf_payout"),
]
