"""A token client's sign-in. Include it under the site's API:

``path("api/auth/", include("mfa_app.contrib.rest_framework.urls"))``
"""

from django.urls import path

from . import openapi, views

app_name = "mfa_token"

urlpatterns = [
    path("token/", views.TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("auth-token/", views.ObtainAuthToken.as_view(), name="auth_token"),
    path("challenge/", views.ChallengeView.as_view(), name="challenge"),
    path("challenge/verify/", views.VerifyView.as_view(), name="verify"),
    path("challenge/cancel/", views.CancelView.as_view(), name="cancel"),
    path("openapi.json", openapi.OpenAPIView.as_view(), name="openapi"),
]
