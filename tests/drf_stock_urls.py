"""A site that routes Simple JWT's and DRF's stock obtain views (the check warns)."""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework_simplejwt.views import TokenObtainPairView

from example_project.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/auth-token/", obtain_auth_token),
]
