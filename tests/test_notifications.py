"""Security emails to the user: what sends one, to which addresses, what it says and hides."""

import logging
import re
import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from mfa_app import decorators, errors, notifications, services
from mfa_app.models import EmailFactor, MFAEvent, TOTPFactor
from mfa_app.notifications import Notification, check_notifications, describe_browser

from .conftest import password_login, sign_in_with_mfa
from .factories import (
    EmailFactorFactory,
    SMSFactorFactory,
    StaffFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

CHALLENGE = reverse("mfa_app:challenge")
OTHER_ADDRESS = "Old.Inbox@example.org"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
OVERRIDES = Path(__file__).resolve().parent / "templates" / "notification_override"
SUBJECTS = {
    "factor_added": "a sign-in method was added",
    "factor_removed": "a sign-in method was removed",
    "recovery_code_used": "a recovery code was used",
    "mfa_reset": "two-step verification was reset",
    "device_remembered": "a browser was remembered",
    "sign_in_failed": "failed two-step verification",
    "new_device_sign_in": "a sign-in from a new browser",
    "bypass_granted": "without two-step verification for a while",
}


def notices(kind: str | None = None) -> list:
    """The notification emails sent so far (of one kind), leaving out codes sent to sign in."""
    wanted = [SUBJECTS[kind]] if kind else SUBJECTS.values()
    return [m for m in mail.outbox if any(s in m.subject for s in wanted)]


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def everything_in(message) -> str:
    return f"{message.subject}\n{message.body}\n{html_of(message)}"


@pytest.fixture(autouse=True)
def _logs_every_failure_again():
    # A mail failure is logged once an hour per process: each test starts with none logged.
    notifications._failures.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the block left for after the commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def totp(db):
    return TOTPFactorFactory()


@pytest.fixture
def second_address(totp):
    """An email factor at an address that is not the account's (the account's was changed)."""
    return EmailFactorFactory(user=totp.user, email=OTHER_ADDRESS, is_primary=False)


@pytest.fixture
def signed_in(client, totp):
    sign_in_with_mfa(client, totp.user)
    return client


def remove_url(device) -> str:
    return reverse("mfa_app:remove_factor", args=[services.factor_type_of(device), device.pk])


# --- what sends an email, to whom ----------------------------------------------------------


def test_adding_an_app_on_the_page_tells_every_address_once(
    signed_in, totp, second_address, committed
):
    EmailFactorFactory(user=totp.user, email=totp.user.email.upper(), is_primary=False)
    page = signed_in.get(reverse("mfa_app:enroll_totp"))
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)
    code = pyotp.TOTP(secret).now()
    with committed():
        response = signed_in.post(
            reverse("mfa_app:enroll_totp"),
            {"code": code},
            REMOTE_ADDR="203.0.113.9",
            HTTP_USER_AGENT=CHROME,
        )
    assert response.status_code in (200, 302)
    assert TOTPFactor.objects.filter(user=totp.user).count() == 2
    sent = notices("factor_added")
    # The account's address (also an email factor, in other letters) and the other factor's.
    assert sorted(m.to[0].lower() for m in sent) == sorted([totp.user.email, OTHER_ADDRESS.lower()])
    assert all(len(m.to) == 1 for m in sent)
    body = sent[0].body
    assert "Authenticator app" in body
    assert "203.0.113.9" in body and "Chrome on Windows" in body
    assert "http://testserver/mfa/security/" in body
    assert 'href="http://testserver/mfa/security/"' in html_of(sent[0])
    assert "(UTC)" in body
    for message in sent:
        assert secret not in everything_in(message)
        assert code not in everything_in(message)


def test_enrolling_a_phone_names_the_method_but_never_the_number(
    client, user, allow_codes, sms_outbox, committed
):
    client.force_login(user)
    client.post(reverse("mfa_app:enroll_sms"), {"send": "1", "destination": "(201) 555-0123"})
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)
    with committed():
        client.post(reverse("mfa_app:enroll_sms"), {"code": code})
    (message,) = notices("factor_added")
    assert "Text message" in message.body
    assert "555" not in everything_in(message)
    assert "0123" not in everything_in(message)
    assert code not in everything_in(message)


def test_removing_a_factor_tells_the_user(signed_in, totp, committed):
    phone = SMSFactorFactory(user=totp.user, is_primary=False)
    with committed():
        assert signed_in.post(remove_url(phone)).status_code == 302
    (message,) = notices("factor_removed")
    assert message.to == [totp.user.email]
    assert "Text message" in message.body


def test_a_removed_email_factor_is_told_at_its_own_address_too(
    signed_in, totp, second_address, committed
):
    with committed():
        signed_in.post(remove_url(second_address))
    assert not EmailFactor.objects.filter(pk=second_address.pk).exists()
    sent = notices("factor_removed")
    assert sorted(m.to[0] for m in sent) == sorted([totp.user.email, OTHER_ADDRESS])
    # Told once: the next event does not reach the address any more.
    mail.outbox.clear()
    with committed():
        signed_in.post(remove_url(SMSFactorFactory(user=totp.user, is_primary=False)))
    assert [m.to for m in notices("factor_removed")] == [[totp.user.email]]


def test_an_address_deleted_without_a_removal_is_not_told_of_the_next_one(
    signed_in, totp, second_address, committed
):
    # Deleted behind the app's back (by the site's own code): no removal event takes the note,
    # and the next request must not find it: that address is no longer the user's.
    EmailFactor.objects.filter(pk=second_address.pk).delete()
    with committed():
        signed_in.post(remove_url(SMSFactorFactory(user=totp.user, is_primary=False)))
    assert [m.to for m in notices("factor_removed")] == [[totp.user.email]]


def test_signing_in_with_a_recovery_code_says_how_many_are_left(client, totp, committed):
    codes = services.recovery_codes_after_enrollment(totp.user)
    password_login(client, totp.user)
    with committed():
        client.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[0]})
    (message,) = notices("recovery_code_used")
    assert "You have 9 recovery codes left." in message.body
    assert "Recovery code" in message.body
    for code in codes:
        assert code not in everything_in(message)


def test_the_last_recovery_code_says_a_new_set_was_issued(client, totp, app_policy, committed):
    app_policy.recovery_codes_count = 1
    app_policy.save()
    (code,) = services.recovery_codes_after_enrollment(totp.user)
    password_login(client, totp.user)
    with committed():
        page = client.post(CHALLENGE, {"factor": "RECOVERY", "code": code})
    new_codes = re.findall(r"<code>([0-9A-Z-]{19})</code>", page.content.decode())
    assert new_codes
    (message,) = notices("recovery_code_used")
    assert "a new set of recovery codes was made" in message.body
    assert new_codes[0] not in everything_in(message)
    assert code not in everything_in(message)


def test_a_staff_reset_tells_every_address_and_names_no_one(totp, second_address, committed):
    staff = StaffFactory(email="admin.person@example.com")
    with committed():
        services.reset_mfa(totp.user, actor=staff)
    sent = notices("mfa_reset")
    # The email factor's address is gone from the database, and still told.
    assert sorted(m.to[0] for m in sent) == sorted([totp.user.email, OTHER_ADDRESS])
    body = sent[0].body
    assert "An administrator of" in body
    assert staff.get_username() not in everything_in(sent[0])
    assert "admin.person" not in everything_in(sent[0])


def test_the_admin_reset_action_sends_the_same_email(client, totp, committed):
    staff = StaffFactory()
    sign_in_with_mfa(client, staff)
    model = type(totp.user)._meta
    url = reverse(f"admin:{model.app_label}_{model.model_name}_changelist")
    with committed():
        client.post(
            url,
            {
                "action": "mfa_reset",
                "_selected_action": [str(totp.user.pk)],
                "mfa_reset_confirm": "yes",
            },
        )
    (message,) = notices("mfa_reset")
    assert message.to == [totp.user.email]
    # The staff member's own IP and browser stay out of the user's email.
    assert "127.0.0.1" not in message.body
    assert staff.get_username() not in everything_in(message)


def test_remembering_the_browser_at_the_challenge_tells_the_user(client, totp, committed):
    password_login(client, totp.user)
    with committed():
        client.post(
            CHALLENGE,
            {"factor": "TOTP", "code": code_for(totp), "remember": "1"},
            HTTP_USER_AGENT=CHROME,
        )
    (message,) = notices("device_remembered")
    assert "for the next 30 days" in message.body
    assert "Chrome on Windows" in message.body
    assert notices() == [message]  # the sign-in itself sends nothing


def test_wrong_codes_at_a_sign_in_send_one_email_per_sign_in(client, totp, committed):
    password_login(client, totp.user)
    with committed():
        for _attempt in range(3):
            response = client.post(
                CHALLENGE,
                {"factor": "TOTP", "code": "000000"},
                REMOTE_ADDR="198.51.100.7",
                HTTP_USER_AGENT=CHROME,
            )
            assert response.status_code == 400
    (message,) = notices("sign_in_failed")
    assert message.to == [totp.user.email]
    assert "198.51.100.7" in message.body and "Chrome on Windows" in message.body
    assert "Authenticator app" in message.body
    assert "000000" not in everything_in(message)
    # Another sign-in (here from another browser), another email; the right code sends none.
    other = Client()
    password_login(other, totp.user)
    with committed():
        other.post(CHALLENGE, {"factor": "TOTP", "code": "000000"})
        assert other.post(CHALLENGE, {"factor": "TOTP", "code": code_for(totp)}).status_code == 302
    assert len(notices("sign_in_failed")) == 2
    assert len(notices()) == 2


def test_a_sign_in_locked_after_every_wrong_code_still_sends_one(client, totp, committed):
    password_login(client, totp.user)
    with committed():
        for _attempt in range(5):
            client.post(CHALLENGE, {"factor": "TOTP", "code": "000000"})
    assert MFAEvent.objects.filter(user=totp.user, kind="locked_out").exists()
    assert len(notices()) == 1


def test_a_wrong_code_at_a_step_up_sends_nothing(signed_in, totp, committed):
    url = decorators.step_up_url(reverse("mfa_app:security"), None)
    with committed():
        response = signed_in.post(url, {"factor": "TOTP", "code": "000000"})
    assert response.status_code == 400
    assert MFAEvent.objects.filter(user=totp.user, kind="failed").exists()
    assert notices() == []


def test_a_wrong_code_while_enrolling_sends_nothing(user, allow_codes, sms_outbox, committed):
    services.send_enrollment_code(user, "SMS", "+12015550123")
    with committed(), pytest.raises(errors.InvalidCode):
        services.enroll_code_factor(user, "SMS", "+12015550123", "000000")
    assert notices() == []


# --- settings ---------------------------------------------------------------------------------


def _add_app(user):
    secret = services.new_totp_secret()
    services.enroll_totp(user, secret, pyotp.TOTP(secret).now())


def _remove_app(user):
    services.remove_factor(user, TOTPFactor.objects.filter(user=user).first())


def _use_recovery_code(user):
    codes = services.regenerate_recovery_codes(user)
    browser = Client()
    password_login(browser, user)
    browser.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[0]})


def _reset(user):
    services.reset_mfa(user, actor=StaffFactory())


def _remember(user):
    browser = Client()
    password_login(browser, user)
    # The newest app: an older one's code for this time step may have been used already.
    device = TOTPFactor.objects.filter(user=user).latest("pk")
    browser.post(CHALLENGE, {"factor": "TOTP", "code": code_for(device), "remember": "1"})


def _fail_sign_in(user):
    browser = Client()
    password_login(browser, user)
    browser.post(CHALLENGE, {"factor": "TOTP", "code": "000000"})


TRIGGERS = {
    "factor_added": _add_app,
    "factor_removed": _remove_app,
    "recovery_code_used": _use_recovery_code,
    "mfa_reset": _reset,
    "device_remembered": _remember,
    "sign_in_failed": _fail_sign_in,
}


@pytest.mark.parametrize("kind", list(TRIGGERS))
def test_each_kind_is_on_by_default_and_its_switch_turns_it_off(totp, kind, committed):
    TOTPFactorFactory(user=totp.user, is_primary=False)  # so that one can be removed
    with committed():
        TRIGGERS[kind](totp.user)
    assert len(notices(kind)) == 1
    mail.outbox.clear()
    with override_settings(MFA_NOTIFICATIONS={kind: False}), committed():
        TOTPFactorFactory(user=totp.user, is_primary=False)
        TRIGGERS[kind](totp.user)
    assert notices(kind) == []


def test_one_switch_turns_every_kind_off(totp, committed):
    with override_settings(MFA_NOTIFICATIONS=False), committed():
        for trigger in TRIGGERS.values():
            TOTPFactorFactory(user=totp.user, is_primary=False)
            trigger(totp.user)
    assert notices() == []


def test_the_support_contact_and_the_site_address_come_from_settings(totp, committed):
    with (
        override_settings(
            MFA_SUPPORT_CONTACT="help@example.com",
            MFA_NOTIFICATION_SITE_URL="https://accounts.example.com/",
        ),
        committed(),
    ):
        services.reset_mfa(totp.user)
    (message,) = notices()
    assert "Contact us: help@example.com" in message.body
    assert "https://accounts.example.com/mfa/security/" in message.body


def test_without_a_request_or_a_site_address_the_email_goes_without_a_link(totp, committed):
    with committed():
        services.reset_mfa(totp.user)
    (message,) = notices()
    assert "://" not in message.body
    assert "Contact our support team." in message.body


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_time_is_given_in_the_sites_time_zone(totp, committed):
    with time_machine.travel(datetime(2025, 1, 15, 12, 0, tzinfo=UTC), tick=False), committed():
        services.reset_mfa(totp.user)
    (message,) = notices()
    assert "Jan. 15, 2025, 1 p.m. (Europe/Paris)" in message.body


def test_a_user_without_any_address_gets_nothing(totp, committed):
    type(totp.user).objects.filter(pk=totp.user.pk).update(email="")
    totp.user.refresh_from_db()
    with committed():
        services.reset_mfa(totp.user)
    assert MFAEvent.objects.filter(user=totp.user, kind="reset").exists()
    assert notices() == []


def test_a_rolled_back_change_tells_nobody(totp, committed):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        services.reset_mfa(totp.user)
        raise RuntimeError("the caller's transaction fails after the reset")
    assert TOTPFactor.objects.filter(pk=totp.pk).exists()
    assert notices() == []


# --- templates --------------------------------------------------------------------------------


def test_a_site_overrides_the_layout_and_one_subject_the_usual_way(totp, committed):
    engine = settings.TEMPLATES[0]
    templates = [{**engine, "DIRS": [OVERRIDES, *engine["DIRS"]]}]
    with override_settings(TEMPLATES=templates), committed():
        _add_app(totp.user)
        services.reset_mfa(totp.user)
    added, reset = mail.outbox
    assert added.subject == "ACME: new sign-in method on your account"
    assert reset.subject.endswith("two-step verification was reset on your account")
    for message in (added, reset):
        # The restyled layout serves every kind; the plain text keeps the default one.
        assert html_of(message).startswith("<!-- ACME security layout -->")
        assert "If this wasn't you" in html_of(message)
        assert "If this wasn't you" in message.body


# --- the sender hook and failures -------------------------------------------------------------

collected: list[Notification] = []


def collect(notification: Notification) -> None:
    collected.append(notification)


def explode(notification: Notification) -> None:
    raise RuntimeError(f"queue down for {notification.recipients}")


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"no") for m in email_messages})


@override_settings(MFA_NOTIFICATION_SENDER="tests.test_notifications.collect")
def test_a_site_can_send_them_its_own_way(totp, second_address, committed):
    collected.clear()
    with committed():
        services.reset_mfa(totp.user)
    (notification,) = collected
    assert notification.kind == "mfa_reset"
    assert notification.user == totp.user
    assert sorted(notification.recipients) == sorted([totp.user.email, OTHER_ADDRESS])
    subject, text, html = notification.render()
    assert "two-step verification was reset" in subject
    assert "An administrator" in text and "An administrator" in html
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("setting", "level"),
    [
        ({"EMAIL_BACKEND": "tests.test_notifications.BrokenBackend"}, logging.WARNING),
        ({"MFA_NOTIFICATION_SENDER": "tests.test_notifications.explode"}, logging.ERROR),
    ],
)
def test_a_failing_mail_server_breaks_nothing_and_is_logged_without_addresses(
    signed_in, totp, second_address, caplog, committed, setting, level
):
    phone = SMSFactorFactory(user=totp.user, is_primary=False)
    with override_settings(**setting), committed(), caplog.at_level(logging.WARNING):
        response = signed_in.post(remove_url(phone))
    assert response.status_code == 302
    assert not phone.__class__.objects.filter(pk=phone.pk).exists()
    (record,) = [r for r in caplog.records if r.name == "mfa_app.notifications"]
    assert record.levelno == level
    assert "factor_removed" in record.getMessage()
    # No address, nor the username (an address where users sign in with one).
    for secret in (OTHER_ADDRESS, totp.user.email, totp.user.get_username()):
        assert secret not in record.getMessage()


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (CHROME, "Chrome on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox on Linux",
        ),
        ("curl/8.4.0", "curl/8.4.0"),
        ("", ""),
        # Free text from whoever failed the sign-in never reaches the email.
        ("Your account is locked: call +1 900 555 0100 or visit evil.example/fix", ""),
        ("evil.example/fix", ""),
    ],
)
def test_the_browser_is_described_never_copied(user_agent, shown):
    assert str(describe_browser(user_agent)) == shown


@pytest.mark.parametrize(
    ("settings_", "ids"),
    [
        ({}, []),
        ({"MFA_NOTIFICATIONS": False}, []),
        ({"MFA_NOTIFICATIONS": {"device_remembered": False}}, []),
        ({"MFA_NOTIFICATIONS": {"factor_add": False}}, ["mfa_app.E012"]),
        ({"MFA_NOTIFICATIONS": {"factor_added": "no"}}, ["mfa_app.E012"]),
        ({"MFA_NOTIFICATIONS": ["factor_added"]}, ["mfa_app.E012"]),
        ({"MFA_NOTIFICATION_SENDER": "tests.nowhere.send"}, ["mfa_app.E013"]),
        ({"MFA_NOTIFICATION_SITE_URL": "accounts.example.com"}, ["mfa_app.E014"]),
        ({"MFA_NOTIFICATION_SITE_URL": "https://accounts.example.com"}, []),
    ],
)
def test_the_settings_are_checked(settings_, ids):
    with override_settings(**settings_):
        assert [problem.id for problem in check_notifications()] == ids


def test_both_user_models_are_notified_at_their_email_field(committed, db):
    user = UserFactory(email="Person@Example.com")
    TOTPFactorFactory(user=user)
    with committed():
        services.reset_mfa(user)
    assert [m.to for m in notices()] == [["Person@Example.com"]]
