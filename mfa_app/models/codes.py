import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .challenges import Challenge


class SentCode(models.Model):
    """A code sent by SMS or email, kept only as a keyed hash.

    One code is live per scope: per challenge when signing in, per user and factor type when
    enrolling. A new send replaces the live one; a code is spent once, within its timeout.
    """

    class Purpose(models.TextChoices):
        CHALLENGE = "challenge", _("sign-in")
        ENROLL = "enroll", _("enrollment")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_sent_codes"
    )
    factor_type = models.CharField(max_length=16)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # The sign-in this code answers (OOB-04): a code from another login is worth nothing.
    challenge = models.ForeignKey(
        Challenge, on_delete=models.CASCADE, null=True, blank=True, related_name="sent_codes"
    )
    # The factor that received it, when signing in.
    device_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Keyed hash of the number or address, so sends can be matched without storing it again.
    destination_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Wrong codes while enrolling; a sign-in counts them on its challenge instead.
    failures = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sent code")
        verbose_name_plural = _("sent codes")
        indexes = [models.Index(fields=["user", "purpose", "factor_type"])]

    def __str__(self) -> str:
        return f"{self.factor_type} code {self.id}"


class RateLimit(models.Model):
    """A counter over a time window, changed by conditional UPDATEs so every process agrees."""

    key = models.CharField(max_length=200, unique=True)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")

    def __str__(self) -> str:
        return self.key
