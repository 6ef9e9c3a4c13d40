"""Factors answered with a code that the app sends: SMS and email (SECURITY.md §3).

A code is 6 random digits, stored only as a keyed hash, valid ``MFA_CODE_TIMEOUT`` seconds and
spent once, by a conditional UPDATE. Each sign-in (challenge) has one live code, and so does
each enrollment: a new send replaces it. Sends are rate limited per destination (a cooldown),
per user and per destination (a daily cap), in the database so every process agrees.
"""

import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import clock, errors, events, lockout, throttle
from ..client_ip import client_ip
from ..conf import app_settings
from ..languages import language_for
from ..masking import mask_destination
from ..models import Challenge, FactorModel, MFAEvent, SentCode
from ..policy import policy_for
from .base import EnrollmentProof, Factor, normalize_code

CODE_DIGITS = 6
DAY = timedelta(days=1)
MESSAGES = {
    "no_code": _("There is no code to check yet. Send a code first."),
    "expired": _("This code has expired. Send a new one."),
    "too_many": _("Too many wrong codes. Send a new code."),
}


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(row_id: Any, code: str) -> str:
    # Keyed with SECRET_KEY: a copy of the table does not give the codes away (OOB-08).
    return salted_hmac("mfa_app.sent_code", f"{row_id}:{code}", algorithm="sha256").hexdigest()


def destination_digest(factor_type: str, destination: str) -> str:
    value = f"{factor_type}:{destination.lower()}"
    return salted_hmac("mfa_app.destination", value, algorithm="sha256").hexdigest()


def send_limits(factor_type: str, user: Any, to: str) -> list[throttle.Limit]:
    """The cooldown between sends to one destination, then the daily caps (OOB-14)."""
    day = timedelta(days=1)
    per_user = app_settings.CODE_SENDS_PER_USER_PER_DAY
    return [
        throttle.Limit(
            f"send:{factor_type}:user:{user.pk}:to:{to}",
            per_user,
            day,
            cooldown=timedelta(seconds=app_settings.CODE_RESEND_COOLDOWN),
        ),
        throttle.Limit(f"send:{factor_type}:user:{user.pk}", per_user, day),
        throttle.Limit(
            f"send:{factor_type}:to:{to}", app_settings.CODE_SENDS_PER_DESTINATION_PER_DAY, day
        ),
    ]


class CodeFactor(Factor):
    """A factor whose answer is a code sent to the factor's destination (number, address)."""

    per_device = True
    destination_field: ClassVar[str]
    # The API field that carries the destination the user types (None: nothing to type).
    destination_input: ClassVar[str | None] = None
    answer_digits = CODE_DIGITS  # type: ignore[assignment]

    def clean_destination(self, value: Any, user: Any = None) -> str:
        """The canonical destination for ``value``; raise an ``MFAError`` if it cannot be one."""
        raise NotImplementedError

    def deliver(self, user: Any, destination: str, code: str, request: Any) -> None:
        """Hand the code to the provider; raise ``DeliveryFailed`` (or ``InvalidPhoneNumber``)."""
        raise NotImplementedError

    def message_context(self, user: Any, code: str, request: Any) -> dict[str, Any]:
        """What the message templates get: the code, its lifetime, the site's name and domain."""
        return {
            "user": user,
            "code": code,
            "minutes": max(1, app_settings.CODE_TIMEOUT // 60),
            "site_name": policy_for(user).issuer_for(request),
            # For origin-bound codes ("@example.com #123456") that browsers offer to fill in.
            "domain": _domain(request),
        }

    def destination(self, device: FactorModel) -> str:
        return str(getattr(device, self.destination_field))

    def _switch_label(self, words: str, device: FactorModel) -> str:
        """``words`` ("Text a code to %(to)s"), the masked destination as a left-to-right island.

        In Arabic or Hebrew words, ``***-***-1234`` would otherwise be reordered as right to
        left. The words are escaped, as the template would have; the label is HTML.
        """
        before, _to, after = words.partition("%(to)s")
        return format_html(
            '{}<bdi dir="ltr">{}</bdi>{}', before, self.masked_destination(device), after
        )

    def verify(self, user: Any, code: str) -> FactorModel | None:
        # A sent code only answers the sign-in or the enrollment it was sent for.
        return None

    # --- sending --------------------------------------------------------------------------

    def send(
        self,
        user: Any,
        destination: str,
        request: Any = None,
        *,
        challenge: Challenge | None = None,
        device: FactorModel | None = None,
        otp: bool = False,
    ) -> SentCode:
        """Send a new code, replacing the live one of the same sign-in or enrollment.

        ``otp``: django-otp asked (``generate_challenge``); the code answers ``device`` alone
        (a sign-in code of no mfa_app challenge) and replaces only that device's earlier one.
        Raises ``RateLimited`` (with ``retry_after``), ``DeliveryFailed`` or
        ``InvalidPhoneNumber``; then nothing changed and the previous code still works.
        """
        signing_in = challenge is not None or otp
        purpose = SentCode.Purpose.CHALLENGE if signing_in else SentCode.Purpose.ENROLL
        to = destination_digest(self.type, destination)
        limits = send_limits(self.type, user, to)
        ip = client_ip(request)
        if ip:
            # Many accounts from one address is how SMS pumping looks from here (OOB-14).
            limits.append(throttle.Limit(f"ip:sends:{ip}", app_settings.IP_SENDS_PER_DAY, DAY))
        throttle.hit(limits)
        code = generate_code()
        try:
            # In the user's language (MFA_USER_LANGUAGE), not necessarily the page's.
            with translation.override(language_for(user, request)):
                self.deliver(user, destination, code, request)
        except errors.MFAError:
            throttle.refund(limits)
            raise
        now = clock.now()
        sent = SentCode(
            user=user,
            factor_type=self.type,
            purpose=purpose,
            challenge=challenge,
            device_id=device.pk if device is not None else None,
            destination_digest=to,
            sent_at=now,
            expires_at=now + timedelta(seconds=app_settings.CODE_TIMEOUT),
        )
        sent.digest = code_digest(sent.id, code)
        with transaction.atomic():
            if otp:
                _otp_live(user, self.type, device).update(replaced_at=now)
            else:
                _live(user, purpose, self.type, challenge).update(replaced_at=now)
            sent.save(force_insert=True)
        events.record(
            MFAEvent.Kind.CODE_SENT,
            user,
            request,
            factor_type=self.type,
            purpose=purpose,
            to=mask_destination(destination),
        )
        return sent

    def has_live_code(self, user: Any, challenge: Challenge, device: FactorModel) -> bool:
        """Whether this sign-in already sent ``device`` a code that can still be used."""
        return (
            _live(user, SentCode.Purpose.CHALLENGE, self.type, challenge)
            .filter(factor_type=self.type, device_id=device.pk, expires_at__gt=clock.now())
            .exists()
        )

    # --- checking -------------------------------------------------------------------------

    def live_code(
        self,
        user: Any,
        *,
        challenge: Challenge | None = None,
        destination: str | None = None,
        otp_device: FactorModel | None = None,
    ) -> SentCode:
        """The code to compare an answer with; ``InvalidCode`` if there is none that could match.

        ``otp_device``: the code django-otp had sent to that device (``send(otp=True)``).
        """
        if otp_device is not None:
            codes = _otp_live(user, self.type, otp_device)
        else:
            purpose = (
                SentCode.Purpose.CHALLENGE if challenge is not None else SentCode.Purpose.ENROLL
            )
            codes = _live(user, purpose, self.type, challenge).filter(factor_type=self.type)
        if destination is not None:
            codes = codes.filter(destination_digest=destination_digest(self.type, destination))
        sent = codes.order_by("-sent_at").first()
        if sent is None:
            raise errors.InvalidCode(str(MESSAGES["no_code"]), reason="no_code")
        if sent.expires_at <= clock.now():
            raise errors.InvalidCode(str(MESSAGES["expired"]), reason="expired")
        if sent.failures >= app_settings.MAX_ATTEMPTS:
            raise errors.InvalidCode(str(MESSAGES["too_many"]), reason="too_many", attempts_left=0)
        return sent

    @staticmethod
    def matches(sent: SentCode, code: str) -> bool:
        return constant_time_compare(sent.digest, code_digest(sent.id, normalize_code(code)))

    @staticmethod
    def spend(sent: SentCode) -> bool:
        """Mark ``sent`` used unless it was used, replaced or expired meanwhile."""
        now = clock.now()
        return (
            SentCode.objects.filter(
                pk=sent.pk,
                used_at__isnull=True,
                replaced_at__isnull=True,
                expires_at__gt=now,
                failures__lt=app_settings.MAX_ATTEMPTS,
            ).update(used_at=now)
            == 1
        )

    @staticmethod
    def count_failure(sent: SentCode) -> errors.InvalidCode:
        """Count a wrong code against an enrollment's code; the error to show for it."""
        SentCode.objects.filter(pk=sent.pk, failures__lt=app_settings.MAX_ATTEMPTS).update(
            failures=F("failures") + 1
        )
        failures = SentCode.objects.values_list("failures", flat=True).get(pk=sent.pk)
        left = max(0, app_settings.MAX_ATTEMPTS - failures)
        if not left:
            return errors.InvalidCode(str(MESSAGES["too_many"]), attempts_left=0)
        return errors.InvalidCode(attempts_left=left)

    # --- the challenge --------------------------------------------------------------------

    def begin_challenge(
        self,
        user: Any,
        request: Any,
        *,
        challenge: Challenge | None = None,
        device: FactorModel | None = None,
        send: bool = True,
    ) -> dict[str, Any]:
        """Send ``device`` a code unless this sign-in already sent it one that still works."""
        context: dict[str, Any] = {"sent_to": device.masked_destination if device else ""}
        if not send or challenge is None or device is None:
            return context
        if self.has_live_code(user, challenge, device):
            return context
        try:
            self.send(user, self.destination(device), request, challenge=challenge, device=device)
        except errors.MFAError as exc:
            context["send_error"] = exc.message
            context["retry_after"] = exc.extra.get("retry_after")
        return context

    def verify_answer(
        self, user: Any, code: str, request: Any, challenge: Challenge | None = None
    ) -> FactorModel:
        sent = self.live_code(user, challenge=challenge)
        if not self.matches(sent, code):
            raise errors.InvalidCode(reason="wrong_code")
        device = self.devices(user).filter(pk=sent.device_id).first()
        if device is None or not self.spend(sent):
            raise errors.InvalidCode(reason="not_live")
        self.model.objects.filter(pk=device.pk).update(last_used_at=clock.now())
        return device

    # --- django-otp -----------------------------------------------------------------------

    def could_answer(self, device: FactorModel, token: str) -> bool:
        """A code of the right shape, while django-otp had a code sent to ``device``."""
        code = normalize_code(token)
        shaped = code.isascii() and code.isdigit() and len(code) == CODE_DIGITS
        return shaped and _otp_live(device.user, self.type, device).exists()

    def verify_device(self, device: FactorModel, token: str) -> bool:
        try:
            sent = self.live_code(device.user, otp_device=device)
        except errors.InvalidCode:
            return False
        if not self.matches(sent, token):
            # Five wrong guesses void the code, as while enrolling: the user asks for a new one.
            self.count_failure(sent)
            return False
        if not self.spend(sent):
            return False
        self.model.objects.filter(pk=device.pk).update(last_used_at=clock.now())
        return True

    # --- enrollment -----------------------------------------------------------------------

    def prepare_enrollment(self, user: Any, request: Any, *, destination: Any = None) -> str:
        """Send a code to ``destination``; return it canonical (E.164, the account's address).

        Nothing is saved until the code comes back. Raises ``InvalidPhoneNumber``,
        ``InvalidEmailAddress``, ``AlreadyEnrolled``, ``RateLimited``, ``DeliveryFailed``.
        """
        destination = self.clean_destination(destination, user)
        if self.devices(user).filter(**{self.destination_field: destination}).exists():
            raise errors.AlreadyEnrolled()
        self.send(user, destination, request)
        return destination

    def enrollment_state(self, offer: str) -> dict[str, Any]:
        return {"destination": offer}

    def check_enrollment(
        self, user: Any, answer: str, request: Any, *, destination: str
    ) -> EnrollmentProof:
        """A wrong code counts against its send (5 and it is void) and the user's lockout."""
        sent = self.live_code(user, destination=destination)
        lockout.reserve_attempt(user)
        if not self.matches(sent, answer):
            raise self.count_failure(sent)
        return EnrollmentProof(
            fields={self.destination_field: destination},
            spend=lambda: self.spend(sent),
            counted=True,
        )

    def default_name(self, fields: dict[str, Any]) -> str:
        # "Text message ***-***-2671": tells two phones apart without spelling the number out.
        return f"{self.label} {mask_destination(fields[self.destination_field])}"

    def already_enrolled_error(self) -> errors.MFAError:
        return errors.AlreadyEnrolled()


def _otp_live(user: Any, factor_type: str, device: FactorModel | None) -> QuerySet:
    """The unspent, unreplaced codes django-otp had sent to ``device``.

    Sign-in codes of no challenge: ``_live`` of any mfa_app sign-in never sees them, so a code
    sent through django-otp cannot answer mfa_app's challenge page, nor the reverse (OOB-04).
    """
    return SentCode.objects.filter(
        user=user,
        purpose=SentCode.Purpose.CHALLENGE,
        challenge__isnull=True,
        factor_type=factor_type,
        device_id=device.pk if device is not None else None,
        used_at__isnull=True,
        replaced_at__isnull=True,
    )


def _live(user: Any, purpose: str, factor_type: str, challenge: Challenge | None) -> QuerySet:
    """The unspent, unreplaced codes of one scope: a sign-in's, or one factor type's enrollment."""
    codes = SentCode.objects.filter(
        user=user, purpose=purpose, used_at__isnull=True, replaced_at__isnull=True
    )
    if purpose == SentCode.Purpose.CHALLENGE:
        return codes.filter(challenge=challenge)
    return codes.filter(factor_type=factor_type)


def _domain(request: Any) -> str:
    if request is None:
        return ""
    host = request.get_host()
    # Drop the port, if any; an IPv6 literal keeps its brackets.
    return host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
