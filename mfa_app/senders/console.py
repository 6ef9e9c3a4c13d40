import sys
from typing import TextIO

from .base import BaseSMSBackend, SMSMessage


class ConsoleBackend(BaseSMSBackend):
    """Print each message (code included) to stdout: for development only."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: SMSMessage) -> None:
        self.stream.write(f"SMS to {message.to}\n{message.body}\n{'-' * 40}\n")
        self.stream.flush()
