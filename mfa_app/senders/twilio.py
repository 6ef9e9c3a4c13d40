"""Send text messages with Twilio's Programmable Messaging, through the official SDK."""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .. import errors
from ..conf import app_settings
from .base import BaseSMSBackend, SMSMessage

logger = logging.getLogger("mfa_app.sms")

# Seconds to wait for Twilio to connect, then to answer; the SDK's own client waits for ever,
# which would hold the sign-in page (and a server worker) as long as a connection hangs.
TIMEOUT = 10

# The site's set-up is wrong, not the user's input: bad credentials (20003), a From number or
# Messaging Service that is invalid, not the account's or not able to send (21212, 21603,
# 21606, 21659, 21705). Logged as errors, for the operators.
SITE_ERRORS = {20003, 21212, 21603, 21606, 21659, 21705}
# Twilio error codes (https://www.twilio.com/docs/api/errors) whose cause the user can act on.
NUMBER_ERRORS = {
    21211: _("This phone number is not valid. Check it and try again."),
    21614: _("This number cannot receive text messages. Enter a mobile number."),
}
DELIVERY_ERRORS = {
    21408: _("We cannot send text messages to numbers in this country."),
    21610: _("This number has opted out of our text messages (it replied STOP)."),
    21612: _("This number cannot be reached by text message right now."),
    20429: _("Too many messages are being sent right now. Try again in a minute."),
}


class TwilioBackend(BaseSMSBackend):
    """Settings: ``MFA_TWILIO_ACCOUNT_SID``, ``MFA_TWILIO_AUTH_TOKEN`` and either
    ``MFA_TWILIO_MESSAGING_SERVICE_SID`` or ``MFA_TWILIO_FROM_NUMBER``."""

    def __init__(self, http_client: object | None = None) -> None:
        try:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImproperlyConfigured(
                "The Twilio SMS backend needs the twilio package: pip install mfa_app[twilio]"
            ) from exc
        if http_client is None:
            http_client = (
                import_string(app_settings.TWILIO_HTTP_CLIENT)()
                if app_settings.TWILIO_HTTP_CLIENT
                else TwilioHttpClient(timeout=TIMEOUT)
            )
        self.client = Client(
            app_settings.TWILIO_ACCOUNT_SID,
            app_settings.TWILIO_AUTH_TOKEN,
            http_client=http_client,
        )

    def send(self, message: SMSMessage) -> None:
        from twilio.base.exceptions import TwilioException

        sender = (
            {"messaging_service_sid": app_settings.TWILIO_MESSAGING_SERVICE_SID}
            if app_settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": app_settings.TWILIO_FROM_NUMBER}
        )
        try:
            self.client.messages.create(to=message.to, body=message.body, **sender)
        except TwilioException as exc:
            code = getattr(exc, "code", None)
            # The number, the body and the code stay out of the log; Twilio's code says enough.
            level = logging.ERROR if code in SITE_ERRORS else logging.WARNING
            logger.log(
                level,
                "Twilio refused a message: error %s (HTTP %s)",
                code,
                getattr(exc, "status", "-"),
            )
            if code in NUMBER_ERRORS:
                raise errors.InvalidPhoneNumber(str(NUMBER_ERRORS[code])) from exc
            if code in DELIVERY_ERRORS:
                raise errors.DeliveryFailed(str(DELIVERY_ERRORS[code])) from exc
            raise errors.DeliveryFailed() from exc
        except OSError as exc:
            # Connection problems surface as requests' exceptions, which are OSErrors.
            logger.warning("Could not reach Twilio: %s", type(exc).__name__)
            raise errors.DeliveryFailed() from exc
