from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, TimestampMixin


class FactorModel(TimestampMixin, Device):
    """A django-otp device that mfa_app manages as one of a user's factors."""

    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        abstract = True


class TOTPFactor(FactorModel):
    # Base32; never rendered again after enrollment.
    key = models.CharField(max_length=128)
    # Highest time step accepted so far: a code for this step or an earlier one is a replay.
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")


class RecoveryCodeSet(FactorModel):
    """A user's current recovery codes; regenerating replaces the whole set."""

    # Per-set salt mixed into every code's keyed hash.
    salt = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("recovery code set")
        verbose_name_plural = _("recovery code sets")
        constraints = [
            models.UniqueConstraint(fields=["user"], name="mfa_app_one_recovery_set_per_user")
        ]


class RecoveryCode(models.Model):
    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code_set", "digest"], name="mfa_app_unique_code")
        ]

    def __str__(self) -> str:
        return f"recovery code #{self.pk}"
