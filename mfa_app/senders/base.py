from dataclasses import dataclass


@dataclass(frozen=True)
class SMSMessage:
    to: str  # E.164
    body: str


class BaseSMSBackend:
    """Send one text message, or raise an ``MFAError`` whose message the user can read.

    Raise ``errors.InvalidPhoneNumber`` when the number itself is the problem and
    ``errors.DeliveryFailed`` otherwise; never let a provider's exception through.
    """

    def send(self, message: SMSMessage) -> None:
        raise NotImplementedError
