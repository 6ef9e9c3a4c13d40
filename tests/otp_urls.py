"""The example site plus what a site using django-otp adds: an ``otp_required`` view and an
``OTPAdminSite`` (tests/test_django_otp.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django_otp.admin import OTPAdminSite
from django_otp.decorators import otp_required

from example_project.urls import urlpatterns as site_urlpatterns

otp_admin = OTPAdminSite(OTPAdminSite.name)


@otp_required
def verified_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"verified with {request.user.otp_device.persistent_id}")


urlpatterns = [
    path("otp-only/", verified_only, name="otp_only"),
    path("otpadmin/", otp_admin.urls),
    *site_urlpatterns,
]
