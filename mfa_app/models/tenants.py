from django.db import models
from django.utils.translation import gettext_lazy as _


class Tenant(models.Model):
    """The default tenant model; swap it with ``MFA_TENANT_MODEL``."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        swappable = "MFA_TENANT_MODEL"
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name
