"""Issue 17: new-browser sign-ins and staff bypasses email the user, policy changes are
audited, and the emails go through the task framework after the commit, quietly when the mail
server is down."""

import logging
import socket
from datetime import timedelta

import django
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings

from mfa_app import clock, notifications, services
from mfa_app.models import ApplicationPolicy, MFAEvent, Requirement
from mfa_app.webhooks.types import EVENT_TYPES

from .conftest import password_login
from .factories import StaffFactory
from .test_admin import admin_url, policy_form
from .test_admin_policy_engine import staff, staff_client  # noqa: F401  (fixtures)
from .test_notifications import CHROME, everything_in, html_of

Kind = MFAEvent.Kind
TASKS_PACKAGE = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
NEW_BROWSER = "a sign-in from a new browser"
BYPASS = "without two-step verification for a while"


@pytest.fixture(autouse=True)
def _logs_every_failure_again():
    # Failures are logged once an hour per process: each test starts with none logged.
    notifications._failures.clear()
    yield
    notifications._failures.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def sign_in(user, browser: Client | None = None, agent: str = CHROME) -> Client:
    """Sign in with the password alone (no factor, optional MFA), from ``browser`` or a new one."""
    browser = browser or Client(HTTP_USER_AGENT=agent, REMOTE_ADDR="203.0.113.9")
    # Signed out, as by the logout page: the session goes, the browser's own cookie stays.
    browser.cookies.pop(settings.SESSION_COOKIE_NAME, None)
    assert password_login(browser, user).status_code == 302
    return browser


def sent(subject_part: str) -> list:
    return [m for m in mail.outbox if subject_part in m.subject]


# --- TD-06: a sign-in from a new browser ---------------------------------------------------


def test_a_new_browser_is_told_once_and_the_first_sign_in_of_all_is_not(user, committed):
    with committed():
        home = sign_in(user)
        sign_in(user, home)
    assert sent(NEW_BROWSER) == []

    with committed():
        other = sign_in(user)
    (message,) = sent(NEW_BROWSER)
    assert message.to == [user.email]
    text = everything_in(message)
    assert "Chrome on Windows" in text and "203.0.113.9" in text
    assert "If this wasn't you" in message.body and "If this wasn't you" in html_of(message)

    with committed():
        sign_in(user, other)
        sign_in(user, home)
    assert len(sent(NEW_BROWSER)) == 1
    event = MFAEvent.objects.get(kind=Kind.NEW_DEVICE_SIGN_IN)
    assert (event.user, event.ip_address) == (user, "203.0.113.9")
    assert EVENT_TYPES[Kind.NEW_DEVICE_SIGN_IN] == "mfa.new_device_sign_in"


@override_settings(MFA_NOTIFICATIONS={"new_device_sign_in": False})
def test_new_browser_emails_can_be_switched_off(user, committed):
    with committed():
        sign_in(user)
        sign_in(user)
    assert sent(NEW_BROWSER) == []
    assert MFAEvent.objects.filter(kind=Kind.NEW_DEVICE_SIGN_IN).count() == 1


# --- LC-05: a staff bypass -------------------------------------------------------------------


def test_a_bypass_tells_the_user_until_when_but_not_the_reason_or_the_staff_member(
    totp_user, committed
):
    admin = StaffFactory()
    until = clock.now() + timedelta(days=2)
    with committed():
        services.grant_bypass(totp_user, until, "VIP; ticket #4411, manager approved", admin)
    (message,) = sent(BYPASS)
    text = everything_in(message)
    assert "A member of the" in text and "until" in text
    assert str(until.year) in text
    assert "ticket" not in text and admin.get_username() not in text
    assert admin.email not in message.to


def test_a_bypass_in_a_transaction_rolled_back_tells_nobody(totp_user, committed):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        services.grant_bypass(
            totp_user, clock.now() + timedelta(days=1), "lost phone", StaffFactory()
        )
        raise RuntimeError
    assert mail.outbox == []


# --- through the task framework -------------------------------------------------------------


@override_settings(TASKS={"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"}})
def test_the_email_is_a_task_queued_at_the_commit(totp_user, committed):
    from mfa_app.tasks import send_notification, task_backends

    backend = task_backends["default"]
    backend.clear()
    until = clock.now() + timedelta(days=1)
    with committed() as callbacks:
        services.grant_bypass(totp_user, until, "lost phone", StaffFactory())
        assert backend.results == []
    assert callbacks
    (result,) = backend.results
    assert result.task.func == send_notification.func
    assert result.kwargs["kind"] == "bypass_granted"
    assert mail.outbox == []
    # What a worker does with it.
    assert result.task.call(*result.args, **result.kwargs) is True
    assert len(sent(BYPASS)) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_mail_server_that_is_down_is_logged_once_without_a_traceback(user, caplog, committed):
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": _closed_port(),
        "EMAIL_TIMEOUT": 2,
    }
    sign_in(user)
    with override_settings(**smtp), caplog.at_level(logging.DEBUG), committed():
        for _ in range(5):
            sign_in(user)
    assert MFAEvent.objects.filter(kind=Kind.NEW_DEVICE_SIGN_IN).count() == 5
    records = [r for r in caplog.records if r.name.startswith(("mfa_app", "django_tasks"))]
    (record,) = [r for r in records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "ConnectionRefusedError" in record.getMessage()
    assert user.email not in record.getMessage()
    assert user.get_username() not in record.getMessage()


def test_after_an_hour_of_quiet_the_next_failure_is_logged_with_the_count(user, caplog, committed):
    down = {"EMAIL_BACKEND": "tests.test_notifications.BrokenBackend"}
    sign_in(user)
    with (
        time_machine.travel(clock.now(), tick=False) as traveller,
        override_settings(**down),
        caplog.at_level(logging.WARNING),
    ):
        for _ in range(3):
            with committed():
                sign_in(user)
        traveller.shift(timedelta(hours=1, seconds=1))
        with committed():
            sign_in(user)
    first, second = [r.getMessage() for r in caplog.records if r.name == "mfa_app.notifications"]
    assert "SMTPRecipientsRefused" in first and user.email not in first
    assert "2 more since the last report" in second


def test_the_test_site_chose_its_mail_backend_so_no_warning():
    assert notifications.check_notification_mail() == []


# --- policy changes, audited ------------------------------------------------------------------


def test_a_policy_change_through_the_service_is_audited_with_before_and_after(db):
    admin = StaffFactory()
    services.update_policy(requirement=Requirement.REQUIRED, recovery_codes_count=12, actor=admin)
    event = MFAEvent.objects.get(kind=Kind.POLICY_CHANGED)
    assert event.user is None and event.actor == admin.get_username()
    assert event.details["scope"] == "application" and event.details["action"] == "changed"
    assert event.details["changes"] == {
        "requirement": {"before": "OPTIONAL", "after": "REQUIRED"},
        "recovery_codes_count": {"before": 10, "after": 12},
    }
    assert EVENT_TYPES[Kind.POLICY_CHANGED] == "mfa.policy_changed"


def test_saving_the_same_values_writes_no_event(db):
    services.update_policy(requirement=ApplicationPolicy.load().requirement)
    assert not MFAEvent.objects.filter(kind=Kind.POLICY_CHANGED).exists()


def test_the_command_audits_a_tenant_policy_it_creates(db):
    from example_project.accounts.models import Organization

    org = Organization.objects.create(name="Acme")
    call_command("mfa_policy", "set", "--tenant", "Acme", "--mode", "REQUIRED", stdout=None)
    event = MFAEvent.objects.get(kind=Kind.POLICY_CHANGED)
    assert (event.actor, event.tenant) == ("", "Acme")
    details = event.details
    assert (details["scope"], details["action"], details["via"]) == ("tenant", "created", "command")
    assert details["tenant_id"] == str(org.pk)
    assert details["changes"]["requirement"] == {"before": None, "after": "REQUIRED"}
    assert details["changes"]["override"] == {"before": None, "after": True}


def test_the_admin_form_audits_who_changed_what_and_the_log_shows_it(staff_client, staff):  # noqa: F811
    url = admin_url(ApplicationPolicy, "change", ApplicationPolicy.load().pk)
    response = staff_client.post(url, policy_form(requirement=Requirement.REQUIRED))
    assert response.status_code == 302
    event = MFAEvent.objects.get(kind=Kind.POLICY_CHANGED)
    assert event.actor == staff.get_username() and event.details["via"] == "admin"
    assert event.details["changes"]["requirement"] == {"before": "OPTIONAL", "after": "REQUIRED"}
    page = staff_client.get(admin_url(MFAEvent, "change", event.pk)).content.decode()
    assert "Application policy changed (via admin)" in page
    assert "requirement: OPTIONAL → REQUIRED" in page
