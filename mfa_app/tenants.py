"""The swappable tenant model and the user → tenant resolver."""

from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from .conf import app_settings


def get_tenant_model() -> type:
    try:
        return apps.get_model(app_settings.TENANT_MODEL, require_ready=False)
    except (ValueError, LookupError) as exc:
        # Also the message of check E003, so in the active language.
        raise ImproperlyConfigured(
            gettext(
                "MFA_TENANT_MODEL refers to %(model)s, which is not an installed model "
                "('app_label.ModelName')."
            )
            % {"model": repr(app_settings.TENANT_MODEL)}
        ) from exc


def tenant_for(user: Any) -> Any | None:
    """Return the user's tenant according to ``MFA_TENANT_RESOLVER``, or ``None``."""
    resolver = app_settings.TENANT_RESOLVER
    if not resolver or user is None or not getattr(user, "pk", None):
        return None
    if isinstance(resolver, str):
        resolver = import_string(resolver)
    return resolver(user)


def tenant_by_id(value: Any) -> Any | None:
    """The tenant whose primary key is ``value`` (any spelling the key accepts), or ``None``."""
    model = get_tenant_model()
    try:
        return model._default_manager.filter(pk=model._meta.pk.to_python(value)).first()
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
