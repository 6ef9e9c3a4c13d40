"""The staff API's routes, under ``api/staff/`` (names in the ``api`` namespace: ``staff_...``)."""

from django.urls import path

from . import staff, staff_events

USER = "users/<str:user_id>/"

urlpatterns = [
    path(USER, staff.UserStatusView.as_view(), name="staff_user"),
    path(f"{USER}reset/", staff.UserResetView.as_view(), name="staff_user_reset"),
    path(f"{USER}bypass/", staff.UserBypassView.as_view(), name="staff_user_bypass"),
    path("policy/", staff.ApplicationPolicyView.as_view(), name="staff_policy"),
    path(
        "tenants/<str:tenant_id>/policy/",
        staff.TenantPolicyView.as_view(),
        name="staff_tenant_policy",
    ),
    path("events/", staff_events.EventListView.as_view(), name="staff_events"),
]
