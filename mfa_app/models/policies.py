from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings


class Requirement(models.TextChoices):
    DISABLED = "DISABLED", _("Disabled: no MFA at all")
    OPTIONAL = "OPTIONAL", _("Optional: users may enroll themselves")
    REQUIRED = "REQUIRED", _("Required: every user must enroll")


class FactorType(models.TextChoices):
    """Factors a policy can allow; recovery codes are a fallback, switched separately."""

    TOTP = "TOTP", _("Authenticator app (TOTP)")
    WEBAUTHN = "WEBAUTHN", _("Security key or passkey (WebAuthn)")
    SMS = "SMS", _("Text message (SMS)")
    EMAIL = "EMAIL", _("Email code")


def default_allowed_factors() -> list[str]:
    return [FactorType.TOTP, FactorType.WEBAUTHN]


class PolicyFields(models.Model):
    requirement = models.CharField(
        _("requirement"),
        max_length=16,
        choices=Requirement.choices,
        default=Requirement.OPTIONAL,
    )
    allowed_factors = models.JSONField(
        _("allowed factors"),
        default=default_allowed_factors,
        help_text=_(
            "Factors users may enroll and use at a challenge. Text messages can be intercepted "
            "(SIM swap) and cost money per message; email codes are only as safe as the mailbox "
            "(NIST does not count email as a second factor). Offer them beside an authenticator "
            "app or a security key, not instead."
        ),
    )
    recovery_codes_enabled = models.BooleanField(_("recovery codes enabled"), default=True)
    recovery_codes_count = models.PositiveSmallIntegerField(
        _("recovery codes count"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    issuer = models.CharField(
        _("issuer"),
        max_length=100,
        blank=True,
        help_text=_("Name shown in authenticator apps. Empty: the site's name."),
    )

    class Meta:
        abstract = True


class ApplicationPolicy(PolicyFields):
    """The one policy that applies to every user a tenant policy does not override."""

    SINGLETON_PK = 1

    class Meta:
        verbose_name = _("application policy")
        verbose_name_plural = _("application policy")

    def __str__(self) -> str:
        return str(_("Application policy"))

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ApplicationPolicy":
        policy, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return policy


class TenantPolicy(PolicyFields):
    tenant = models.OneToOneField(
        app_settings.TENANT_MODEL,
        on_delete=models.CASCADE,
        related_name="mfa_policy",
        verbose_name=_("tenant"),
    )
    override = models.BooleanField(
        _("override the application policy"),
        default=False,
        help_text=_(
            "On: this tenant's users follow the values below. Off: the application policy."
        ),
    )

    class Meta:
        verbose_name = _("tenant policy")
        verbose_name_plural = _("tenant policies")

    def __str__(self) -> str:
        return str(self.tenant)
