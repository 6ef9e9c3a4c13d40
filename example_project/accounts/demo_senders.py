"""The demo's mail and SMS: one short console line per message instead of the whole message.

A person trying the demo wants the code, not forty lines of HTML email. Each code is printed as
``code 123456 for alice by email``; any other email (security notices) as one line with its
subject. A real site keeps Django's own backends and mfa_app's Twilio sender.
"""

import re
import sys
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.mail.backends.base import BaseEmailBackend

from mfa_app.models import SMSFactor
from mfa_app.senders.base import BaseSMSBackend, SMSMessage

# The code line of mfa_app/email/code.txt is indented; an SMS starts with the code.
_EMAIL_CODE = re.compile(r"^ {4}(\d{4,10})\s*$", re.MULTILINE)
_CODE = re.compile(r"\b(\d{4,10})\b")


def _who_has_email(address: str) -> str:
    User = get_user_model()
    user = User._default_manager.filter(
        **{f"{User.get_email_field_name()}__iexact": address}
    ).first()
    return user.get_username() if user is not None else address


def _who_has_number(number: str) -> str:
    factor = SMSFactor.objects.filter(number=number).select_related("user").first()
    return factor.user.get_username() if factor is not None else number


class DemoEmailBackend(BaseEmailBackend):
    """``code 123456 for alice by email``, or ``email to alice: <subject>``."""

    def __init__(self, *args: Any, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            for address in message.to:
                who = _who_has_email(address)
                code = _EMAIL_CODE.search(message.body)
                if code:
                    self.stream.write(f"code {code.group(1)} for {who} by email\n")
                else:
                    self.stream.write(f"email to {who}: {message.subject}\n")
        self.stream.flush()
        return len(email_messages)


class DemoSMSBackend(BaseSMSBackend):
    """``code 123456 for dave by SMS``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: SMSMessage) -> None:
        code = _CODE.search(message.body)
        who = _who_has_number(message.to)
        text = f"code {code.group(1)}" if code else f"text {message.body!r}"
        self.stream.write(f"{text} for {who} by SMS\n")
        self.stream.flush()
