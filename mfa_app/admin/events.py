"""The audit log: every MFA event, to read and never to edit."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ..models import MFAEvent


@admin.register(MFAEvent)
class MFAEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "username",
        "tenant",
        "factor_type",
        "ip_address",
        "actor",
    )
    list_filter = ("kind", "factor_type")
    search_fields = ("username", "ip_address")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "kind",
        "user",
        "username",
        "tenant",
        "factor_type",
        "actor",
        "ip_address",
        "user_agent",
        "details",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
