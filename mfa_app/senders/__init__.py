"""Text-message backends, chosen by ``MFA_SMS_BACKEND`` the way Django chooses ``EMAIL_BACKEND``.

``twilio.TwilioBackend`` sends for real, ``console.ConsoleBackend`` prints (development),
``locmem.LocMemBackend`` keeps messages in ``mfa_app.senders.outbox`` (tests).
"""

from django.utils.module_loading import import_string

from ..conf import app_settings
from .base import BaseSMSBackend, SMSMessage

# Messages sent through the locmem backend, newest last (tests clear it).
outbox: list[SMSMessage] = []


def get_sms_backend() -> BaseSMSBackend:
    return import_string(app_settings.SMS_BACKEND)()


def send_sms(to: str, body: str) -> None:
    """Send ``body`` to the E.164 number ``to``; may raise ``DeliveryFailed``."""
    get_sms_backend().send(SMSMessage(to=to, body=body))


__all__ = ["BaseSMSBackend", "SMSMessage", "get_sms_backend", "outbox", "send_sms"]
