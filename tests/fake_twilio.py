"""A stand-in for Twilio's REST API at the SDK's own seam, ``twilio.http.HttpClient``.

The SDK builds the request (URL, form fields, basic auth) and parses the answer exactly as it
does in production; only the network is missing. Name the class in ``MFA_TWILIO_HTTP_CLIENT``
(the backend instantiates it with no arguments) or pass an instance to ``TwilioBackend``.

Every request lands in ``FakeTwilioClient.sent``. Each one takes the next answer from
``FakeTwilioClient.answers`` (a function of the request), or a message created when the queue
is empty. ``FakeTwilioClient.reset()`` empties both: a fixture calls it before and after a test.
"""

import json
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import requests
from twilio.http import HttpClient
from twilio.http.response import Response

API = "https://api.twilio.com/2010-04-01"


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    data: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def account_sid(self) -> str:
        match = re.search(r"/Accounts/([^/]+)/", self.url)
        return match.group(1) if match else ""


Answer = Callable[[Request], Response]

# Twilio's error answers, as its API sends them: (HTTP status, "message", extra fields). The
# message names the number, as Twilio's do: ``{to}`` and ``{sender}`` are filled in.
ERRORS: dict[int, tuple[int, str, dict[str, str]]] = {
    21211: (400, "The 'To' number {to} is not a valid phone number.", {}),
    21614: (400, "To number: {to}, is not a mobile number", {}),
    21612: (
        400,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
        "number: {sender} via SMS.",
        {},
    ),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}.",
        {},
    ),
    21610: (400, "Attempt to send to unsubscribed recipient", {}),
    21606: (
        400,
        "The From phone number {sender} is not a valid, SMS-capable inbound phone number or "
        "short code for your account.",
        {},
    ),
    21617: (400, "The concatenated message body exceeds the 1600 character limit.", {}),
    20429: (429, "Too Many Requests", {}),
    20003: (401, "Authenticate", {"detail": "Your AccountSid or AuthToken was incorrect."}),
}


def created(request: Request) -> Response:
    """Twilio's 201 for a new Message (``accepted`` when a Messaging Service picks the sender)."""
    sid = "SM" + secrets.token_hex(16)
    service = request.data.get("MessagingServiceSid")
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    uri = f"/2010-04-01/Accounts/{request.account_sid}/Messages/{sid}"
    body = {
        "account_sid": request.account_sid,
        "api_version": "2010-04-01",
        "body": request.data.get("Body"),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": request.data.get("From"),
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "0" if service else "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": request.data.get("To"),
        "uri": f"{uri}.json",
    }
    return Response(201, json.dumps(body), {"Content-Type": "application/json"})


def error(code: int) -> Answer:
    """Twilio's answer for its error ``code`` (one of ``ERRORS``)."""
    status, message, extra = ERRORS[code]

    def answer(request: Request) -> Response:
        sender = request.data.get("From") or request.data.get("MessagingServiceSid", "")
        body = {
            "code": code,
            "message": message.format(to=request.data.get("To", ""), sender=sender),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
            **extra,
        }
        return Response(status, json.dumps(body), {"Content-Type": "application/json"})

    return answer


def server_error(request: Request) -> Response:
    """A 503 from a load balancer: HTML, no Twilio error code."""
    return Response(503, "<html><body>503 Service Unavailable</body></html>", {})


def network_down(request: Request) -> Response:
    """What ``TwilioHttpClient`` lets through when api.twilio.com cannot be reached."""
    raise requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='api.twilio.com', port=443): Max retries exceeded"
    )


def timed_out(request: Request) -> Response:
    raise requests.exceptions.ReadTimeout(
        "HTTPSConnectionPool(host='api.twilio.com', port=443): Read timed out. (read timeout=10)"
    )


class FakeTwilioClient(HttpClient):
    """Record each request; answer with the next scripted answer, or a created message."""

    sent: ClassVar[list[Request]] = []
    answers: ClassVar[deque[Answer]] = deque()

    def __init__(self) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), is_async=False)

    @classmethod
    def reset(cls) -> None:
        cls.sent.clear()
        cls.answers.clear()

    @classmethod
    def answer_next(cls, *answers: Answer) -> None:
        cls.answers.extend(answers)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        request = Request(
            method=method,
            url=uri,
            data={key: str(value) for key, value in (data or {}).items()},
            auth=auth,
            headers=dict(headers or {}),
        )
        self.sent.append(request)
        answer = self.answers.popleft() if self.answers else created
        return answer(request)
