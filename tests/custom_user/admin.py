from django.contrib import admin

from .models import EmailUser


@admin.register(EmailUser)
class EmailUserAdmin(admin.ModelAdmin):
    list_display = ["email", "is_staff", "is_active"]
    search_fields = ["email"]
