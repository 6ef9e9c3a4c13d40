from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MfaAppConfig(AppConfig):
    name = "mfa_app"
    verbose_name = _("Multi-factor authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, login_state  # noqa: F401  (connect checks and signal receivers)
