"""TOTP (RFC 6238): authenticator apps."""

import base64
import secrets
import time
from typing import Any

import pyotp
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto
from ..conf import app_settings
from ..models import FactorType, TOTPFactor
from .base import Factor, normalize_code, register

SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends


def generate_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def totp_for(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=app_settings.TOTP_DIGITS, interval=app_settings.TOTP_PERIOD)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return totp_for(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """Return the time step whose code equals ``code`` within the drift tolerance, or ``None``."""
    code = normalize_code(code)
    if not code.isascii() or not code.isdigit() or len(code) != app_settings.TOTP_DIGITS:
        return None
    totp = totp_for(secret)
    now = time.time() if at is None else at
    current = int(now // totp.interval)
    tolerance = app_settings.TOTP_TOLERANCE
    match = None
    # Check every step in the window (no early exit) so timing does not tell which matched.
    for step in range(max(0, current - tolerance), current + tolerance + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            match = step
    return match


@register
class TOTP(Factor):
    type = FactorType.TOTP
    label = _("Authenticator app")
    model = TOTPFactor

    def verify(self, user: Any, code: str) -> TOTPFactor | None:
        unreadable = None
        for device in self.devices(user):
            try:
                secret = device.key
            except crypto.DecryptionError as exc:
                # Another app of the user's may still answer; fail closed only if none does.
                unreadable = exc
                continue
            step = matching_step(secret, code)
            if step is not None and self.spend_step(device, step):
                return device
        if unreadable is not None:
            raise unreadable
        return None

    def could_answer(self, device: TOTPFactor, token: str) -> bool:
        code = normalize_code(token)
        return code.isascii() and code.isdigit() and len(code) == app_settings.TOTP_DIGITS

    def verify_device(self, device: TOTPFactor, token: str) -> bool:
        try:
            secret = device.key
        except crypto.DecryptionError:
            # An unreadable secret answers nothing: refuse rather than raise into django-otp.
            return False
        step = matching_step(secret, token)
        return step is not None and self.spend_step(device, step)

    @staticmethod
    def spend_step(device: TOTPFactor, step: int) -> bool:
        """Record ``step`` as used unless it (or a later one) already was: one use per code."""
        # One conditional UPDATE: atomic by itself, no savepoint needed.
        spent = TOTPFactor.objects.filter(pk=device.pk, last_t__lt=step).update(
            last_t=step, last_used_at=timezone.now()
        )
        return spent == 1
