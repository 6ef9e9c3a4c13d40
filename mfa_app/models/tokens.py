from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TokenVerification(models.Model):
    """How and when the holder of an API key without claims passed MFA.

    Django REST framework's ``TokenAuthentication`` keys cannot say it themselves, as a JWT's
    claims do. The row is found by a keyed hash of the key, so the table holds nothing a
    client could authenticate with.
    """

    digest = models.CharField(_("key digest"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_token_verifications"
    )
    # RFC 8176 authentication method references, space separated ("pwd otp").
    methods = models.CharField(_("methods"), max_length=64)
    factor_type = models.CharField(_("verified with"), max_length=16, blank=True)
    authenticated_at = models.DateTimeField(_("authenticated"))
    mfa_at = models.DateTimeField(_("MFA passed"), null=True, blank=True)
    # The user's session epoch when the key was issued: signing every session out ends it.
    session_epoch = models.PositiveIntegerField(_("session epoch"), default=0)

    class Meta:
        verbose_name = _("API token verification")
        verbose_name_plural = _("API token verifications")

    def __str__(self) -> str:
        return f"{self.user_id} {self.methods}"
