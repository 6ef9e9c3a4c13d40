from .base import BaseSMSBackend, SMSMessage


class LocMemBackend(BaseSMSBackend):
    """Keep each message in ``mfa_app.senders.outbox``: for tests."""

    def send(self, message: SMSMessage) -> None:
        from . import outbox

        outbox.append(message)
