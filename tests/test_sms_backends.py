"""SMS backends: Twilio through its own SDK (network faked at its HttpClient), console, locmem.

What a user sees when Twilio refuses a number or cannot be reached, what an operator finds in
the log (never the number, the message or the code), and that a refused send costs nothing.
"""

import html
import io
import logging
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from twilio.http.http_client import TwilioHttpClient

from mfa_app import errors, senders
from mfa_app.factors.codes import destination_digest
from mfa_app.models import MFAEvent, RateLimit, SentCode, SMSFactor
from mfa_app.senders import SMSMessage, get_sms_backend, send_sms
from mfa_app.senders.console import ConsoleBackend
from mfa_app.senders.locmem import LocMemBackend
from mfa_app.senders.twilio import TwilioBackend

from . import fake_twilio
from .conftest import is_logged_in, password_login
from .fake_twilio import FakeTwilioClient

SID = "AC" + "3f9a1c7d" * 4
TOKEN = "9c2e5b7a1d4f8e3c6b0a2d5f7e9c1b3a"
FROM = "+15005550006"
SERVICE = "MG" + "b1d3f5a7" * 4
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"

NUMBER = "+12015550123"
CODE = "730194"
BODY = f"{CODE} is your Example verification code. It expires in 10 minutes. Never share it."
ENROLL_SMS = reverse("mfa_app:enroll_sms")

GENERIC = "We could not send the code. Please try again later."
# Twilio's error code: the exception, what the user reads, the log level.
REFUSALS = [
    pytest.param(
        21211,
        errors.InvalidPhoneNumber,
        "This phone number is not valid. Check it and try again.",
        logging.WARNING,
        id="21211-invalid-number",
    ),
    pytest.param(
        21614,
        errors.InvalidPhoneNumber,
        "This number cannot receive text messages. Enter a mobile number.",
        logging.WARNING,
        id="21614-not-mobile",
    ),
    pytest.param(
        21612,
        errors.DeliveryFailed,
        "This number cannot be reached by text message right now.",
        logging.WARNING,
        id="21612-unreachable",
    ),
    pytest.param(
        21408,
        errors.DeliveryFailed,
        "We cannot send text messages to numbers in this country.",
        logging.WARNING,
        id="21408-region-not-enabled",
    ),
    pytest.param(
        21610,
        errors.DeliveryFailed,
        "This number has opted out of our text messages (it replied STOP).",
        logging.WARNING,
        id="21610-unsubscribed",
    ),
    pytest.param(
        20429,
        errors.DeliveryFailed,
        "Too many messages are being sent right now. Try again in a minute.",
        logging.WARNING,
        id="20429-too-many-requests",
    ),
    # The site's credentials are wrong: nothing the user can do, so nothing about it to read.
    pytest.param(20003, errors.DeliveryFailed, GENERIC, logging.ERROR, id="20003-authenticate"),
    # The From number cannot send: the site's set-up again, logged as an error.
    pytest.param(21606, errors.DeliveryFailed, GENERIC, logging.ERROR, id="21606-from-number"),
    # Any other refusal: a generic message for the user, a warning for the operators.
    pytest.param(21617, errors.DeliveryFailed, GENERIC, logging.WARNING, id="21617-unlisted"),
]
UNREACHABLE = [
    pytest.param(fake_twilio.network_down, id="connection-error"),
    pytest.param(fake_twilio.timed_out, id="read-timeout"),
    pytest.param(fake_twilio.server_error, id="http-503-html"),
]


@pytest.fixture
def twilio(settings, monkeypatch):
    """The Twilio backend with test credentials, talking to ``FakeTwilioClient``."""
    # The SDK reads these from the environment; either would move the API's host name.
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    settings.MFA_SMS_BACKEND = "mfa_app.senders.twilio.TwilioBackend"
    settings.MFA_TWILIO_HTTP_CLIENT = "tests.fake_twilio.FakeTwilioClient"
    settings.MFA_TWILIO_ACCOUNT_SID = SID
    settings.MFA_TWILIO_AUTH_TOKEN = TOKEN
    settings.MFA_TWILIO_FROM_NUMBER = FROM
    settings.MFA_TWILIO_MESSAGING_SERVICE_SID = ""
    FakeTwilioClient.reset()
    yield FakeTwilioClient
    FakeTwilioClient.reset()


def send(to: str = NUMBER, body: str = BODY) -> None:
    get_sms_backend().send(SMSMessage(to=to, body=body))


def assert_nothing_private(log: str) -> None:
    for secret in (NUMBER, NUMBER.lstrip("+"), "5550123", BODY, CODE):
        assert secret not in log


def sms_logs(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "mfa_app.sms"]


# --- Twilio: the request ----------------------------------------------------------------------


def test_twilio_gets_the_number_the_text_and_the_sender_with_basic_auth(twilio):
    send()
    [request] = twilio.sent
    assert request.method == "POST"
    assert request.url == MESSAGES_URL
    assert request.data == {"To": NUMBER, "Body": BODY, "From": FROM}
    assert request.auth == (SID, TOKEN)


def test_a_messaging_service_replaces_the_from_number(twilio, settings):
    settings.MFA_TWILIO_MESSAGING_SERVICE_SID = SERVICE
    send()
    [request] = twilio.sent
    assert request.url == MESSAGES_URL
    assert request.data == {"To": NUMBER, "Body": BODY, "MessagingServiceSid": SERVICE}


def test_an_http_client_given_to_the_backend_is_the_one_used(twilio, settings):
    settings.MFA_TWILIO_HTTP_CLIENT = None
    client = FakeTwilioClient()
    TwilioBackend(http_client=client).send(SMSMessage(to=NUMBER, body=BODY))
    assert [request.data["To"] for request in client.sent] == [NUMBER]


# --- Twilio: refusals and outages -------------------------------------------------------------


@pytest.mark.parametrize(("code", "exception", "message", "level"), REFUSALS)
def test_each_twilio_refusal_becomes_one_clear_message_for_the_user(
    twilio, code, exception, message, level
):
    twilio.answer_next(fake_twilio.error(code))
    with pytest.raises(errors.MFAError) as raised:
        send()
    assert type(raised.value) is exception
    assert raised.value.message == message
    # Twilio's own wording (which names the number) never reaches the page.
    assert "'To'" not in raised.value.message and NUMBER not in raised.value.message


@pytest.mark.parametrize(("code", "exception", "message", "level"), REFUSALS)
def test_each_twilio_refusal_is_logged_by_its_code_without_the_number_or_the_code(
    twilio, caplog, code, exception, message, level
):
    caplog.set_level(logging.DEBUG)
    twilio.answer_next(fake_twilio.error(code))
    with pytest.raises(errors.MFAError):
        send()
    [record] = sms_logs(caplog)
    assert record.levelno == level
    assert str(code) in record.getMessage()
    assert_nothing_private(caplog.text)


@pytest.mark.parametrize("answer", UNREACHABLE)
def test_when_twilio_cannot_be_reached_the_user_is_told_to_try_later(twilio, caplog, answer):
    caplog.set_level(logging.DEBUG)
    twilio.answer_next(answer)
    with pytest.raises(errors.DeliveryFailed) as raised:
        send()
    assert raised.value.message == GENERIC
    [record] = sms_logs(caplog)
    assert record.levelno == logging.WARNING
    assert_nothing_private(caplog.text)


# --- console and locmem -----------------------------------------------------------------------


def test_the_console_backend_writes_the_number_and_the_text():
    stream = io.StringIO()
    ConsoleBackend(stream=stream).send(SMSMessage(to=NUMBER, body=BODY))
    assert NUMBER in stream.getvalue()
    assert BODY in stream.getvalue()


def test_the_console_backend_prints_to_stdout_by_default(settings, capsys):
    settings.MFA_SMS_BACKEND = "mfa_app.senders.console.ConsoleBackend"
    send_sms(NUMBER, BODY)
    out = capsys.readouterr().out
    assert NUMBER in out and BODY in out


def test_the_locmem_backend_keeps_each_message_in_the_outbox(sms_outbox):
    LocMemBackend().send(SMSMessage(to=NUMBER, body=BODY))
    send_sms("+14155552671", "second")
    assert senders.outbox == [
        SMSMessage(to=NUMBER, body=BODY),
        SMSMessage(to="+14155552671", body="second"),
    ]


# --- choosing the backend ---------------------------------------------------------------------


class RecordingBackend(senders.BaseSMSBackend):
    """A site's own backend, named by its dotted path."""

    sent: list[SMSMessage] = []

    def send(self, message: SMSMessage) -> None:
        self.sent.append(message)


@pytest.mark.parametrize(
    ("path", "backend_class"),
    [
        ("mfa_app.senders.console.ConsoleBackend", ConsoleBackend),
        ("mfa_app.senders.locmem.LocMemBackend", LocMemBackend),
        ("mfa_app.senders.twilio.TwilioBackend", TwilioBackend),
        ("tests.test_sms_backends.RecordingBackend", RecordingBackend),
    ],
)
def test_get_sms_backend_follows_the_setting(twilio, settings, path, backend_class):
    settings.MFA_SMS_BACKEND = path
    assert type(get_sms_backend()) is backend_class


def test_send_sms_goes_through_the_configured_backend(settings, sms_outbox):
    settings.MFA_SMS_BACKEND = "tests.test_sms_backends.RecordingBackend"
    RecordingBackend.sent.clear()
    send_sms(NUMBER, BODY)
    assert RecordingBackend.sent == [SMSMessage(to=NUMBER, body=BODY)]
    assert sms_outbox == []


# --- the enrollment page, with Twilio ---------------------------------------------------------


@pytest.fixture
def signed_in(client, user, allow_codes, twilio):
    """A user who just signed in at the login page, so adding a factor needs no password."""
    password_login(client, user)
    assert is_logged_in(client)
    return client


def page(response) -> str:
    return html.unescape(response.content.decode())


def send_code(client, number: str):
    return client.post(ENROLL_SMS, {"send": "1", "destination": number})


def texted_code(twilio) -> str:
    return re.search(r"\b(\d{6})\b", twilio.sent[-1].data["Body"]).group(1)


def daily_counts(user, number: str) -> list[int]:
    """The user's and the number's daily send counts."""
    to = destination_digest("SMS", number)
    keys = [f"send:SMS:user:{user.pk}", f"send:SMS:to:{to}"]
    return [RateLimit.objects.get(key=key).count for key in keys]


def asks_for_a_number(client) -> bool:
    return 'name="destination"' in page(client.get(ENROLL_SMS))


def test_a_number_twilio_calls_invalid_is_a_form_error_and_costs_nothing(signed_in, user, twilio):
    twilio.answer_next(fake_twilio.error(21211))
    response = send_code(signed_in, "(201) 555-0123")
    assert response.status_code == 400
    message = "This phone number is not valid. Check it and try again."
    assert message in response.context["form"].non_field_errors()
    assert message in page(response)
    assert [request.data["To"] for request in twilio.sent] == [NUMBER]
    assert not SMSFactor.objects.exists()
    assert not SentCode.objects.exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.CODE_SENT).exists()
    assert daily_counts(user, NUMBER) == [0, 0]
    assert asks_for_a_number(signed_in)


def test_a_refused_send_leaves_the_daily_cap_for_a_number_that_works(signed_in, twilio, settings):
    settings.MFA_CODE_SENDS_PER_USER_PER_DAY = 1
    twilio.answer_next(fake_twilio.error(21211))
    assert send_code(signed_in, "(201) 555-0123").status_code == 400
    assert send_code(signed_in, "+14155552671").status_code == 302
    assert [request.data["To"] for request in twilio.sent] == [NUMBER, "+14155552671"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            fake_twilio.error(20429),
            "Too many messages are being sent right now. Try again in a minute.",
            id="20429-too-many-requests",
        ),
        pytest.param(
            fake_twilio.error(21612),
            "This number cannot be reached by text message right now.",
            id="21612-unreachable",
        ),
        pytest.param(fake_twilio.network_down, GENERIC, id="connection-error"),
        pytest.param(fake_twilio.error(20003), GENERIC, id="20003-authenticate"),
    ],
)
def test_when_twilio_does_not_take_the_code_the_page_says_why_and_saves_nothing(
    signed_in, user, twilio, answer, message
):
    twilio.answer_next(answer)
    response = send_code(signed_in, "(201) 555-0123")
    assert response.status_code == 400
    assert message in page(response)
    assert not SentCode.objects.exists()
    assert not SMSFactor.objects.exists()
    assert daily_counts(user, NUMBER) == [0, 0]
    assert asks_for_a_number(signed_in)


def test_the_code_texted_through_twilio_adds_the_phone(signed_in, user, twilio):
    assert send_code(signed_in, "(201) 555-0123").status_code == 302
    [request] = twilio.sent
    assert request.data["To"] == NUMBER
    response = signed_in.post(ENROLL_SMS, {"code": texted_code(twilio)})
    assert response.status_code == 200  # the new recovery codes
    factor = SMSFactor.objects.get(user=user)
    assert factor.number.as_e164 == NUMBER
    assert factor.confirmed


def test_a_failed_resend_leaves_the_code_already_sent_working(signed_in, user, twilio):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert send_code(signed_in, "(201) 555-0123").status_code == 302
        first = texted_code(twilio)
        clock.shift(31)  # past the 30 s cooldown
        twilio.answer_next(fake_twilio.error(21612))
        response = signed_in.post(ENROLL_SMS, {"resend": "1"})
        assert response.status_code == 400
        assert "This number cannot be reached by text message right now." in page(response)
        assert len(twilio.sent) == 2  # the resend did go to Twilio
        response = signed_in.post(ENROLL_SMS, {"code": first})
        assert response.status_code == 200
    assert SMSFactor.objects.get(user=user).number.as_e164 == NUMBER


def test_without_a_configured_http_client_a_hung_twilio_cannot_hold_the_page(twilio, settings):
    settings.MFA_TWILIO_HTTP_CLIENT = None
    client = TwilioBackend().client.http_client
    assert isinstance(client, TwilioHttpClient)
    assert 0 < client.timeout <= 30


def test_the_twilio_client_is_the_configured_one_not_the_network(twilio):
    # Guards the rest of this file: were the setting ignored, these tests would go online.
    assert isinstance(TwilioBackend().client.http_client, FakeTwilioClient)
