from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class MfaAppConfig(AppConfig):
    name = "mfa_app"
    verbose_name = _("Multi-factor authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (  # noqa: F401  (connect checks, receivers)
            checks,
            checks_crypto,
            checks_tokens,
            languages,
            notification_queue,
            otp,
        )
        from .flows import signin  # noqa: F401  (the sign-in's receivers)
        from .models import FactorModel
        from .webhooks import dispatch  # noqa: F401  (connect the webhook receivers)

        FactorModel.otp_bridge = otp

        if apps.is_installed("django.contrib.admin"):
            from .admin.users import extend_user_admin_after_autodiscovery

            extend_user_admin_after_autodiscovery()
