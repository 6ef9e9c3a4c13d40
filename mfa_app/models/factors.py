from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, TimestampMixin
from phonenumber_field.modelfields import PhoneNumberField

from ..masking import mask_email, mask_phone
from .fields import EncryptedTextField


class FactorModel(TimestampMixin, Device):
    """A django-otp device that mfa_app manages as one of a user's factors."""

    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        abstract = True

    @property
    def masked_destination(self) -> str:
        """Where codes go, as the user may be shown it; empty for factors that send nothing."""
        return ""

    # django-otp's device API is answered by ``mfa_app.otp`` (the factor, the lockout, the audit),
    # which ``MfaAppConfig.ready()`` plugs in here: the factors import these models, so the
    # models cannot import them back. Until then nothing verifies (fail closed).
    otp_bridge: ClassVar[Any] = None

    def verify_is_allowed(self) -> tuple[bool, dict[str, Any] | None]:
        if self.otp_bridge is None:
            return False, None
        return self.otp_bridge.verify_is_allowed(self)

    def verify_token(self, token: Any) -> bool:
        return self.otp_bridge is not None and self.otp_bridge.verify_token(self, token)

    def _generate_code(self) -> str | None:
        return self.otp_bridge.generate_challenge(self) if self.otp_bridge is not None else None


class TOTPFactor(FactorModel):
    # Base32, encrypted at rest (OTP-08); never rendered again after enrollment.
    key = EncryptedTextField(editable=False)
    # Highest time step accepted so far: a code for this step or an earlier one is a replay.
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")


class WebAuthnCredential(FactorModel):
    """A security key or passkey, registered as a second factor (``name`` is the user's label)."""

    # WebAuthn §7.1 step 25 caps credential ids at 1023 bytes; unique because one credential
    # registered to two accounts would let either sign in as the other (step 26, WA-13).
    credential_id = models.BinaryField(max_length=1023, unique=True)
    # The COSE_Key exactly as the authenticator sent it.
    public_key = models.BinaryField()
    # A uint32 that must rise at every use unless it stays 0 (synced passkeys): WA-11.
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # NULL: not known, for a credential imported from a peer that never stored the flag; the
    # first assertion tells it, and from then on it is fixed like any other (WA-08).
    backup_eligible = models.BooleanField(default=False, null=True)
    backed_up = models.BooleanField(default=False)
    # The random user.id the credential was created for (never the pk): an assertion that
    # returns a userHandle must return this one (WA-12).
    user_handle = models.BinaryField(max_length=64)
    # SHA-256 of the challenge this credential answered last. A counter stuck at 0 cannot tell
    # a replay, so the conditional UPDATE that accepts an assertion also refuses this value.
    last_challenge = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("security key or passkey")
        verbose_name_plural = _("security keys and passkeys")


class SMSFactor(FactorModel):
    """A phone that receives codes by text message, confirmed by a code sent to it."""

    number = PhoneNumberField(_("phone number"))

    class Meta:
        verbose_name = _("phone (SMS)")
        verbose_name_plural = _("phones (SMS)")
        constraints = [
            models.UniqueConstraint(fields=["user", "number"], name="mfa_app_one_sms_per_number")
        ]

    @property
    def masked_destination(self) -> str:
        return mask_phone(str(self.number))

    def generate_challenge(self) -> str | None:
        return self._generate_code()


class EmailFactor(FactorModel):
    """A mailbox that receives codes, confirmed by a code sent to it."""

    email = models.EmailField(_("email address"))

    class Meta:
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="mfa_app_one_email_per_address")
        ]

    @property
    def masked_destination(self) -> str:
        return mask_email(self.email)

    def generate_challenge(self) -> str | None:
        return self._generate_code()


class RecoveryCodeSet(FactorModel):
    """A user's current recovery codes; regenerating replaces the whole set."""

    # Per-set salt mixed into every code's keyed hash.
    salt = models.CharField(max_length=64)
    # Empty for mfa_app's own codes; else the peer whose codes were imported into this set
    # (``"django_otp"``, ``"allauth"``): their shape is not ours, so it says how to read one.
    legacy_format = models.CharField(max_length=16, blank=True, default="")

    # Not a column: how many unused codes the set has left, counted by the statement that
    # spent one from this instance (``None``: not counted).
    codes_left: int | None = None

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


class ImportedRecord(models.Model):
    """One record of another MFA package that ``mfa_import`` carried over, or could not.

    What makes the import idempotent (a record already here is not imported again) and what
    ``--delete-source`` may delete: only records listed here as imported.
    """

    class Outcome(models.TextChoices):
        IMPORTED = "imported", _("imported")
        # Known but not carried (one-way hashed recovery codes): the user was told.
        NOT_CARRIED = "not_carried", _("not carried over")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_imported_records"
    )
    source = models.CharField(max_length=32)
    # The peer's model and primary key: ``"otp_totp.totpdevice:12"``.
    record = models.CharField(max_length=200)
    factor_type = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    imported_at = models.DateTimeField()

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        constraints = [
            models.UniqueConstraint(fields=["source", "record"], name="mfa_app_import_once")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.record}"
