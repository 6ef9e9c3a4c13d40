"""The language of a user's codes and security emails: the request's, or MFA_USER_LANGUAGE's.

These tests read what does not depend on mfa_app's own catalogs: the emails' ``lang`` and
``dir`` attributes, the dates in them (Django's own month names and formats per locale), and
the language active while a text message is sent.
"""

import re
from datetime import UTC, datetime

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from mfa_app import languages
from mfa_app.senders.base import BaseSMSBackend

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import EmailFactorFactory, SMSFactorFactory, StaffFactory, TOTPFactorFactory

CHALLENGE = reverse("mfa_app:challenge")
ENROLL_TOTP = reverse("mfa_app:enroll_totp")
MARCH_14 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
# Each language's way of writing MARCH_14 in the emails (Django's DATETIME_FORMAT per locale).
DATES = {"en": "March 14, 2026", "de": "14. März 2026", "fr": "14 mars 2026"}


class LanguageRecordingBackend(BaseSMSBackend):
    """Keeps, for each text message, the language it was written in."""

    sent: list[tuple[str, str]] = []

    def send(self, message) -> None:
        self.sent.append((translation.get_language(), message.body))


def french(user, request):
    return "fr"


def nothing(user, request):
    return None


def retired_language(user, request):
    return "xx"


@pytest.fixture(autouse=True)
def _site_language_after():
    # LocaleMiddleware leaves the last request's language active in this thread.
    yield
    translation.deactivate()


@pytest.fixture
def texts(settings):
    settings.MFA_SMS_BACKEND = "tests.test_user_language.LanguageRecordingBackend"
    LanguageRecordingBackend.sent = []
    return LanguageRecordingBackend.sent


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def speaking(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def html_of(message) -> str:
    ((html, _mimetype),) = message.alternatives
    return html


def add_an_app(client, committed):
    """Add a second authenticator app on the page, as the signed-in user."""
    page = client.get(ENROLL_TOTP)
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)
    with committed():
        response = client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code in (200, 302)
    return mail.outbox[-1]


# --- codes ---------------------------------------------------------------------------------


def test_an_emailed_code_is_written_in_the_language_of_the_sign_in(client, allow_codes):
    address = EmailFactorFactory()
    password_login(speaking(client, "de"), address.user)
    client.get(CHALLENGE)
    assert re.search(r'<html lang="de" dir="ltr">', html_of(mail.outbox[-1]))


def test_a_texted_code_is_written_in_the_language_of_the_sign_in(client, allow_codes, texts):
    phone = SMSFactorFactory()
    password_login(speaking(client, "he"), phone.user)
    client.get(CHALLENGE)
    assert [language for language, _body in texts] == ["he"]


def test_an_emailed_code_to_an_arabic_reader_is_right_to_left_with_the_code_left_to_right(
    client, allow_codes
):
    address = EmailFactorFactory()
    password_login(speaking(client, "ar"), address.user)
    client.get(CHALLENGE)
    html = html_of(mail.outbox[-1])
    assert '<html lang="ar" dir="rtl">' in html
    assert re.search(r'dir="ltr">\d{6}</p>', html)


def test_the_user_language_setting_decides_over_the_request(client, allow_codes, texts, settings):
    settings.MFA_USER_LANGUAGE = "tests.test_user_language.french"
    phone = SMSFactorFactory()
    password_login(speaking(client, "de"), phone.user)
    client.get(CHALLENGE)
    assert [language for language, _body in texts] == ["fr"]


# --- security emails -------------------------------------------------------------------------


@time_machine.travel(MARCH_14)
def test_a_security_email_is_in_the_language_and_date_format_of_the_request(client, db, committed):
    totp = TOTPFactorFactory()
    sign_in_with_mfa(speaking(client, "de"), totp.user)
    email = add_an_app(client, committed)
    assert '<html lang="de" dir="ltr">' in html_of(email)
    assert DATES["de"] in email.body
    assert DATES["de"] in html_of(email)


@time_machine.travel(MARCH_14)
def test_the_language_is_taken_when_it_happens_not_when_the_email_is_sent(
    client, db, django_capture_on_commit_callbacks
):
    totp = TOTPFactorFactory()
    sign_in_with_mfa(speaking(client, "de"), totp.user)
    page = client.get(ENROLL_TOTP)
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)
    with django_capture_on_commit_callbacks() as later:
        client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret).now()})
    assert later
    # A worker sends it afterwards, in whatever language it runs in.
    with translation.override("en-us"):
        for callback in later:
            callback()
    email = mail.outbox[-1]
    assert '<html lang="de"' in html_of(email)
    assert DATES["de"] in email.body


@time_machine.travel(MARCH_14)
def test_the_user_language_setting_chooses_the_security_emails_language(
    client, db, committed, settings
):
    settings.MFA_USER_LANGUAGE = "tests.test_user_language.french"
    totp = TOTPFactorFactory()
    sign_in_with_mfa(speaking(client, "de"), totp.user)
    email = add_an_app(client, committed)
    assert '<html lang="fr" dir="ltr">' in html_of(email)
    assert DATES["fr"] in email.body


@time_machine.travel(MARCH_14)
def test_a_staff_command_writes_in_the_sites_language(db, committed, settings):
    # No request: the language active in the command, the site's LANGUAGE_CODE.
    totp = TOTPFactorFactory()
    translation.deactivate()  # as in a fresh `manage.py` process
    with committed():
        call_command("mfa_reset", totp.user.get_username(), "--yes", stdout=None)
    email = mail.outbox[-1]
    # LANGUAGE_CODE is "en-us"; LANGUAGES offers "en".
    assert '<html lang="en"' in html_of(email)
    assert DATES["en"] in email.body


@time_machine.travel(MARCH_14)
def test_a_failed_sign_in_warns_in_the_sites_language_not_the_one_the_guesser_chose(
    client, db, committed
):
    # Whoever got past the password picks the request's language: the warning must stay
    # readable to the user.
    totp = TOTPFactorFactory()
    password_login(speaking(client, "ar"), totp.user)
    with committed():
        client.post(CHALLENGE, {"factor": "TOTP", "code": "000000"})
    email = mail.outbox[-1]
    assert '<html lang="en" dir="ltr">' in html_of(email)
    assert DATES["en"] in email.body


@time_machine.travel(MARCH_14)
def test_a_staff_reset_is_not_in_the_staff_members_language(client, db, committed, settings):
    totp = TOTPFactorFactory()
    staff = StaffFactory()
    sign_in_with_mfa(speaking(client, "de"), staff)
    model = type(totp.user)._meta
    with committed():
        client.post(
            reverse(f"admin:{model.app_label}_{model.model_name}_changelist"),
            {
                "action": "mfa_reset",
                "_selected_action": [str(totp.user.pk)],
                "mfa_reset_confirm": "yes",
            },
        )
    email = mail.outbox[-1]
    assert email.to == [totp.user.email]
    assert '<html lang="en"' in html_of(email)
    # The site's own choice for the user still applies.
    settings.MFA_USER_LANGUAGE = "tests.test_user_language.french"
    TOTPFactorFactory(user=totp.user)
    with committed():
        client.post(
            reverse(f"admin:{model.app_label}_{model.model_name}_changelist"),
            {
                "action": "mfa_reset",
                "_selected_action": [str(totp.user.pk)],
                "mfa_reset_confirm": "yes",
            },
        )
    assert '<html lang="fr"' in html_of(mail.outbox[-1])


# --- the setting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "active", "expected"),
    [
        (None, "de", "de"),
        (None, "pt-br", "pt-br"),
        ("tests.test_user_language.nothing", "ja", "ja"),
        ("tests.test_user_language.french", "ja", "fr"),
        (french, "ja", "fr"),
        # A language the site does not offer (any more): the site's own.
        ("tests.test_user_language.retired_language", "ja", "en"),
    ],
)
def test_language_for(hook, active, expected, settings, user):
    settings.MFA_USER_LANGUAGE = hook
    with translation.override(active):
        assert languages.language_for(user, None) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [("tests.test_user_language.missing", "cannot be imported"), (42, "is not callable")],
)
def test_a_broken_setting_is_a_check_error(value, words, settings):
    settings.MFA_USER_LANGUAGE = value
    (error,) = languages.check_user_language()
    assert error.id == "mfa_app.E031"
    assert f"MFA_USER_LANGUAGE {words}" in error.msg


def test_a_callable_or_none_passes_the_check(settings):
    for value in (None, french, "tests.test_user_language.french"):
        settings.MFA_USER_LANGUAGE = value
        assert languages.check_user_language() == []


# --- the example site's language switch ------------------------------------------------------


def test_a_pending_login_may_switch_language_and_nothing_more(client, totp_user):
    password_login(client, totp_user)
    response = client.post(reverse("set_language"), {"language": "ar", "next": CHALLENGE})
    assert response.status_code == 302
    assert response.url == CHALLENGE
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    page = client.get(CHALLENGE)
    assert '<html lang="ar" dir="rtl">' in page.content.decode()
    assert not is_logged_in(client)
    # Still pending: any other page sends it back to the challenge.
    assert client.get(reverse("private")).url.startswith(CHALLENGE)


def test_the_language_switch_does_not_redirect_off_the_site(client, db):
    response = client.post(
        reverse("set_language"), {"language": "de", "next": "https://attacker.example/"}
    )
    assert response.status_code == 302
    assert "attacker.example" not in response.url
