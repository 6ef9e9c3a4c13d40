from django.conf import settings
from django.db import models
from django.utils import formats
from django.utils.translation import gettext_lazy as _


class TrustedDevice(models.Model):
    """A browser the user asked to remember: sign-ins from it skip the challenge until expiry.

    The browser holds a random token in a signed cookie; only its keyed hash is stored here,
    per user, so a cookie is worth nothing for another account (TD-02).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mfa_trusted_devices",
        verbose_name=_("user"),
    )
    token_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("remembered"))
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("trusted device")
        verbose_name_plural = _("trusted devices")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "token_digest"], name="mfa_app_one_trust_per_browser"
            )
        ]

    def __str__(self) -> str:
        return self.user_agent[:60] or str(_("Unknown browser"))


class LoginRecord(models.Model):
    """A completed sign-in: which browser and network it came from (for RISK_BASED)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_login_records"
    )
    device_digest = models.CharField(max_length=64, blank=True)
    # "203.0.113.0/24", "2001:db8:1::/48", or "country:FR" with a GeoIP2 database.
    network = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("sign-in record")
        verbose_name_plural = _("sign-in records")
        indexes = [models.Index(fields=["user", "device_digest"])]

    def __str__(self) -> str:
        return f"{self.network} {formats.date_format(self.created_at, 'SHORT_DATE_FORMAT')}"


class UserState(models.Model):
    """What mfa_app remembers about one user beyond their factors."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mfa_state",
        verbose_name=_("user"),
    )
    # Grace period: when the user was first asked to enroll under REQUIRED.
    enrollment_asked_at = models.DateTimeField(_("first asked to enroll"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    last_mfa_at = models.DateTimeField(_("last passed MFA"), null=True, blank=True)
    # Wrong MFA answers since the last success, across factors and challenges, and until when
    # the next answer must wait (growing delays, then the lockout).
    failed_attempts = models.PositiveIntegerField(_("wrong MFA answers in a row"), default=0)
    locked_until = models.DateTimeField(_("MFA locked until"), null=True, blank=True)
    # The MFA_LOCKOUT_DECAY period (counted from the Unix epoch) by which time has forgiven
    # every wrong answer: a count the UPDATE can decay by comparing columns with constants.
    # NULL: counted before decay existed, so nothing decays until the next wrong answer.
    failures_forgiven_period = models.BigIntegerField(
        _("wrong MFA answers forgiven by period"), null=True, blank=True, editable=False
    )
    # A staff-granted, timed exemption for a user who lost every factor.
    bypass_until = models.DateTimeField(_("MFA bypass until"), null=True, blank=True)
    bypass_reason = models.CharField(_("bypass reason"), max_length=300, blank=True)
    bypass_granted_by = models.CharField(_("bypass granted by"), max_length=255, blank=True)
    # Sessions signed in under an older epoch are signed out at their next request (SES-06);
    # a counter on the user, not deleted session rows, so every session backend obeys it.
    session_epoch = models.PositiveIntegerField(_("session epoch"), default=0)
    # "Not now" to the passkey offer after a sign-in: not asked again for a while.
    passkey_offer_declined_at = models.DateTimeField(
        _("declined the passkey offer"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("MFA user state")
        verbose_name_plural = _("MFA user states")

    def __str__(self) -> str:
        return str(self.user)
