import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Challenge(models.Model):
    """One attempt at passing MFA; spent once, counts its wrong codes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_challenges"
    )
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    failures = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    factor_type = models.CharField(_("verified with"), max_length=16, blank=True)
    # The user's tenant as the audit log names it, resolved once when the sign-in began: the
    # events of its answers take it from here. ``None``: a row from before it was kept.
    tenant = models.CharField(_("tenant"), max_length=255, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("challenge")
        verbose_name_plural = _("challenges")
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return str(self.id)
