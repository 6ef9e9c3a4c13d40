from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings


class Requirement(models.TextChoices):
    DISABLED = "DISABLED", _("Disabled: no MFA at all")
    OPTIONAL = "OPTIONAL", _("Optional: users may enroll themselves")
    REQUIRED = "REQUIRED", _("Required: every user must enroll")
    RISK_BASED = "RISK_BASED", _("Risk-based: a challenge only when a risk trigger fires")


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
    grace_period_days = models.PositiveSmallIntegerField(
        _("grace period (days)"),
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=_(
            "Under REQUIRED, days a user may postpone enrollment, counted from the first time "
            "they were asked. 0: no postponing."
        ),
    )
    trusted_devices_enabled = models.BooleanField(
        _("trusted devices"),
        default=True,
        help_text=_(
            "Offer “Remember this device”: later sign-ins from it skip the challenge. A "
            "remembered browser counts as at most AAL1 (NIST SP 800-63B): it stands in for the "
            "second factor. Never offered to staff unless MFA_TRUSTED_DEVICES_FOR_STAFF is on."
        ),
    )
    trusted_device_days = models.PositiveSmallIntegerField(
        _("remember devices for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    risk_new_device = models.BooleanField(
        _("new device"), default=True, help_text=_("A browser never seen for the user.")
    )
    risk_new_location = models.BooleanField(
        _("new location"),
        default=True,
        help_text=_("A network (or country) the user has not signed in from in 90 days."),
    )
    risk_suspicious_ip = models.BooleanField(
        _("suspicious IP"),
        default=True,
        help_text=_("An IP on the suspicious list, or with many recent MFA failures."),
    )
    risk_password_changed = models.BooleanField(
        _("password changed"),
        default=True,
        help_text=_("The password changed since the user last passed MFA."),
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
