from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MFAEvent(models.Model):
    """A row of the audit log; never holds a secret or a code."""

    class Kind(models.TextChoices):
        ENROLLED = "enrolled", _("Factor enrolled")
        CHALLENGED = "challenged", _("Challenge started")
        CODE_SENT = "code_sent", _("Code sent")
        VERIFIED = "verified", _("Challenge passed")
        FAILED = "failed", _("Wrong code")
        LOCKED_OUT = "locked_out", _("Too many wrong codes")
        RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
        RECOVERY_CODES_GENERATED = "recovery_codes_generated", _("Recovery codes generated")
        FACTOR_REMOVED = "factor_removed", _("Factor removed")
        RESET = "reset", _("MFA reset by staff")
        DECISION = "decision", _("Sign-in decision")
        DEVICE_REMEMBERED = "device_remembered", _("Device remembered")
        DEVICE_REVOKED = "device_revoked", _("Remembered device revoked")
        ENROLLMENT_POSTPONED = "enrollment_postponed", _("Enrollment postponed")
        BYPASS_GRANTED = "bypass_granted", _("MFA bypass granted")
        BYPASS_ENDED = "bypass_ended", _("MFA bypass ended")
        UNLOCKED = "unlocked", _("MFA unlocked by staff")
        SESSIONS_ENDED = "sessions_ended", _("Sessions signed out")
        NEW_DEVICE_SIGN_IN = "new_device_sign_in", _("Sign-in from a new browser")
        POLICY_CHANGED = "policy_changed", _("Policy changed")
        IMPORTED = "imported", _("Factor imported")

    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="mfa_events",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=255, blank=True)
    tenant = models.CharField(_("tenant"), max_length=255, blank=True)
    factor_type = models.CharField(_("factor"), max_length=16, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    actor = models.CharField(
        _("done by"), max_length=255, blank=True, help_text=_("Staff member, when not the user.")
    )
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("MFA event")
        verbose_name_plural = _("MFA audit log")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username}"
