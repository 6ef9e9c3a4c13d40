"""TOTP (RFC 6238): authenticator apps."""

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import clock, crypto, errors, upsert
from ..conf import app_settings
from ..models import FactorType, TOTPFactor
from ..policy import policy_for
from ..qr import qr_svg
from .base import EnrollmentProof, Factor, normalize_code, register, registered_factors

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
    now = clock.timestamp() if at is None else at
    current = int(now // totp.interval)
    tolerance = app_settings.TOTP_TOLERANCE
    match = None
    # Check every step in the window (no early exit) so timing does not tell which matched.
    for step in range(max(0, current - tolerance), current + tolerance + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            match = step
    return match


@dataclass(frozen=True)
class TOTPSetup:
    """A TOTP secret to show once: base32 for manual entry, ``otpauth://`` URI, QR code SVG."""

    secret: str
    uri: str
    qr_svg: str


@register
class TOTP(Factor):
    type = FactorType.TOTP
    label = _("Authenticator app")
    add_label = _("Add authenticator app")
    model = TOTPFactor

    def verify(self, user: Any, code: str) -> TOTPFactor | None:
        unreadable = None
        for device in self.answering_devices(user):
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

    @property
    def answer_digits(self) -> int:
        return app_settings.TOTP_DIGITS

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
        connection = upsert.connection_for(TOTPFactor)
        if not upsert.supported(connection):
            spent = TOTPFactor.objects.filter(pk=device.pk, last_t__lt=step).update(
                last_t=step, last_used_at=clock.now()
            )
            return spent == 1
        c = upsert.names(TOTPFactor, connection)
        at = upsert.prep(TOTPFactor, "last_used_at", clock.now(), connection)
        # Quoted model names only: every value is a parameter.
        sql = f"UPDATE {c.table} SET {c.last_t} = %s, {c.last_used_at} = %s "  # noqa: S608  # nosec B608
        sql += f"WHERE {c.id} = %s AND {c.last_t} < %s"
        return upsert.execute(connection, sql, [step, at, device.pk, step])[0] == 1

    # --- presentation, policy, enrollment -------------------------------------------------

    icon = "app"
    description = _("Use an app such as Google Authenticator or 1Password to get a code.")
    needs = _("Needs an authenticator app on your phone or computer.")
    recommend_rank = 20
    enroll_template = "mfa_app/enroll_totp.html"
    enroll_url_name = "mfa_app:enroll_totp"
    order = 10
    policy_name = FactorType.TOTP

    def switch_label(self, method: Any, current: str = "") -> str:
        # Seen from the recovery code form, where the user left their one-time code behind.
        if current in {f.type for f in registered_factors() if f.is_fallback}:
            return gettext("Use a one-time code")
        return gettext("Use your authenticator app")

    def setup(self, user: Any, secret: str, request: Any = None) -> TOTPSetup:
        """Describe a not-yet-confirmed secret: its ``otpauth://`` URI and QR code."""
        issuer = policy_for(user).issuer_for(request)
        uri = provisioning_uri(secret, user.get_username(), issuer)
        return TOTPSetup(secret=secret, uri=uri, qr_svg=qr_svg(uri))

    def prepare_enrollment(
        self, user: Any, request: Any, *, secret: str | None = None
    ) -> TOTPSetup:
        """Offer ``secret`` (a new one if ``None``): keep it server side until it is confirmed."""
        return self.setup(user, secret or generate_secret(), request)

    def enrollment_state(self, offer: TOTPSetup) -> dict[str, Any]:
        return {"secret": offer.secret}

    def check_enrollment(
        self, user: Any, answer: str, request: Any, *, secret: str
    ) -> EnrollmentProof:
        step = matching_step(secret, answer)
        if step is None:
            raise errors.InvalidCode()
        # The confirming code's step is spent with it: it cannot then pass a challenge.
        return EnrollmentProof(fields={"key": secret, "last_t": step})
