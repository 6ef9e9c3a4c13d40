"""Webhooks: MFA events sent as signed JSON to a local receiver, retried, and shown in the admin.

Deliveries go through django-tasks-db's database queue (tests/settings.py), and each test runs
that queue's real worker for one pass (``run_worker``), with the clock driven by time-machine.
Those tests commit their data (``transaction=True``), as a worker reads only committed rows.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django
import pyotp
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker

from mfa_app import events, services
from mfa_app.admin.webhooks import WebhookEndpointForm
from mfa_app.checks import check_webhooks
from mfa_app.models import MFAEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mfa_app.webhooks import delivery as delivery_module
from mfa_app.webhooks import sign, verify_signature
from mfa_app.webhooks.types import EVENT_TYPES, TEST_EVENT_TYPE

from .conftest import sign_in_with_mfa
from .factories import StaffFactory, TOTPFactorFactory
from .webhook_receiver import Answer, Receiver, closed_port_url

committed = pytest.mark.django_db(transaction=True)
Status = WebhookDelivery.Status
START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
DEFAULT_SCHEDULE = [60, 300, 1800, 7200, 43200]
IMMEDIATE = (
    "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
) + ".backends.immediate.ImmediateBackend"


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def run_worker() -> None:
    """One pass of ``manage.py db_worker --batch``: run every queued task that is due."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="webhooks",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def endpoint(url: str, events: list[str], **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="Ops", url=url, events=events, **fields)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:mfa_app_{model._meta.model_name}_{view}", args=args)


def cells(html: str, field: str) -> list[str]:
    """The text of each table cell of ``field`` (an inline's column), top to bottom."""
    found = re.findall(rf'<td class="field-{field}">(.*?)</td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in found]


def secret_on(response) -> str:
    return re.search(r"data-secret>([^<]+)<", response.content.decode()).group(1)


# --- signing, for receivers -----------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_body():
    # The vector in docs/webhooks.md, for receivers written in other languages.
    signature = sign("whsec_test", 1700000000, '{"id":"x"}')
    assert signature == "v1=80e8d098018f757aa814ab1abb924f35d304affa1d93d29611a54696207eb7c3"


def test_verify_signature_rejects_tampering_other_secrets_and_stale_timestamps():
    body = b'{"id":"x","type":"mfa.reset"}'
    signature = sign("whsec_right", 1700000000, body)
    at = 1700000000 + 299
    assert verify_signature("whsec_right", "1700000000", body, signature, now=at)
    assert not verify_signature("whsec_right", "1700000000", body + b" ", signature, now=at)
    assert not verify_signature("whsec_wrong", "1700000000", body, signature, now=at)
    assert not verify_signature("whsec_right", "1700000001", body, signature, now=at)
    assert not verify_signature("whsec_right", "1700000000", body, signature, now=at + 2)
    assert not verify_signature("whsec_right", "1700000000", body, signature, now=1699999699)
    assert not verify_signature("whsec_right", "soon", body, signature, now=at)
    assert not verify_signature("whsec_right", "1700000000", body, "v1=00", now=at)
    # While a rolled secret overlaps, the header holds both signatures: either one passes.
    both = f"{sign('whsec_new', 1700000000, body)} {signature}"
    assert verify_signature("whsec_right", 1700000000, body, both, now=at)
    assert verify_signature("whsec_new", 1700000000, body, both, now=at)


# --- delivery ---------------------------------------------------------------------------------


@committed
def test_an_enrollment_is_delivered_after_the_request_as_signed_json(client, user, receiver, clock):
    hook = endpoint(receiver.url, ["mfa.factor_enrolled"])
    client.force_login(user)
    page = client.get(reverse("mfa_app:enroll_totp"))
    totp_secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode()).group(1)
    client.post(reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(totp_secret).now()})
    assert receiver.requests == []  # queued, not sent while the user waits

    run_worker()

    [request] = receiver.requests
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.ENROLLED)
    delivery = WebhookDelivery.objects.get()
    assert request.path == "/hooks/mfa"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-MFA-Webhook-Event"] == "mfa.factor_enrolled"
    assert request.headers["X-MFA-Webhook-Id"] == str(delivery.pk)
    assert request.json() == {
        "id": str(delivery.pk),
        "type": "mfa.factor_enrolled",
        "created_at": event.created_at.isoformat(),
        "data": {
            "user": {"id": str(user.pk), "username": user.get_username()},
            "tenant": None,
            "factor_type": "TOTP",
            "ip_address": "127.0.0.1",
            "actor": None,
            "details": event.details,
        },
    }
    assert totp_secret.encode() not in request.body
    timestamp = request.headers["X-MFA-Webhook-Timestamp"]
    signature = request.headers["X-MFA-Webhook-Signature"]
    assert timestamp == str(int(START.timestamp()))
    assert re.fullmatch(r"v1=[0-9a-f]{64}", signature)
    assert verify_signature(hook.secret, timestamp, request.body, signature)
    assert not verify_signature(hook.secret, timestamp, request.body[:-1] + b" }", signature)
    assert not verify_signature("whsec_" + "x" * 43, timestamp, request.body, signature)
    clock.shift(301)
    assert not verify_signature(hook.secret, timestamp, request.body, signature)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.SUCCEEDED,
        1,
        200,
    )


@committed
def test_only_chosen_events_reach_an_endpoint_and_inactive_ones_get_nothing(user, receiver):
    resets = endpoint(f"{receiver.url}?to=resets", ["mfa.reset"])
    endpoint(f"{receiver.url}?to=removals", ["mfa.factor_removed", "mfa.factor_enrolled"])
    endpoint(f"{receiver.url}?to=inactive", ["mfa.reset"], is_active=False)
    TOTPFactorFactory(user=user)
    services.reset_mfa(user, actor=StaffFactory())
    run_worker()

    assert [r.path for r in receiver.requests] == ["/hooks/mfa?to=resets"]
    assert receiver.requests[0].json()["data"]["actor"] is not None
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [resets.pk]


@committed
def test_every_kind_of_mfa_event_is_sent_under_its_type(user, receiver):
    endpoint(receiver.url, list(EVENT_TYPES.values()))
    for kind in MFAEvent.Kind:
        events.record(kind, user)
    sent = sorted(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert sent == sorted(EVENT_TYPES.values())


def test_every_event_type_is_stable_unique_and_documented():
    assert set(EVENT_TYPES) == set(MFAEvent.Kind.values)
    assert len(set(EVENT_TYPES.values())) == len(EVENT_TYPES)
    docs = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
    for event_type in [*EVENT_TYPES.values(), TEST_EVENT_TYPE]:
        assert f"`{event_type}`" in docs, event_type


@committed
def test_a_rolled_back_change_sends_nothing(user, receiver):
    from django.db import transaction

    endpoint(receiver.url, ["mfa.reset"])
    with pytest.raises(RuntimeError), transaction.atomic():
        services.reset_mfa(user)
        raise RuntimeError("the caller's transaction fails after the event")
    run_worker()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


# --- retries ----------------------------------------------------------------------------------


@committed
def test_a_failing_receiver_is_retried_on_the_backoff_schedule(user, receiver, clock):
    receiver.answer(500, 503, 200)
    hook = endpoint(receiver.url, ["mfa.reset"])
    services.reset_mfa(user)
    run_worker()
    for delay in (60, 300):
        clock.shift(delay - 1)
        run_worker()
        assert len(receiver.requests) == DEFAULT_SCHEDULE.index(delay) + 1  # not due yet
        clock.shift(1)
        run_worker()
    clock.shift(timedelta(days=2))
    run_worker()

    assert len(receiver.requests) == 3
    delivery = WebhookDelivery.objects.get()
    assert {r.headers["X-MFA-Webhook-Id"] for r in receiver.requests} == {str(delivery.pk)}
    assert {r.body for r in receiver.requests} == {delivery.body.encode()}
    stamps = [int(r.headers["X-MFA-Webhook-Timestamp"]) for r in receiver.requests]
    assert [s - stamps[0] for s in stamps] == [0, 60, 360]
    for request, stamp in zip(receiver.requests, stamps, strict=True):
        signature = request.headers["X-MFA-Webhook-Signature"]
        assert verify_signature(hook.secret, stamp, request.body, signature, now=stamp)
    assert [r.headers["X-MFA-Webhook-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        Status.SUCCEEDED,
        3,
        None,
    )
    outcomes = WebhookAttempt.objects.values_list("number", "status_code", "succeeded")
    assert list(outcomes) == [(1, 500, False), (2, 503, False), (3, 200, True)]


@committed
def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_retry(user, receiver, clock):
    receiver.answer(*[500] * 10)
    endpoint(receiver.url, ["mfa.reset"])
    services.reset_mfa(user)
    run_worker()
    for count, delay in enumerate(DEFAULT_SCHEDULE, start=2):
        clock.shift(delay - 1)
        run_worker()
        assert len(receiver.requests) == count - 1
        clock.shift(1)
        run_worker()
        assert len(receiver.requests) == count

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        Status.FAILED,
        6,
        None,
    )
    clock.shift(timedelta(days=7))
    call_command("mfa_webhooks", "--send-due")
    run_worker()
    assert len(receiver.requests) == 6


@committed
def test_deactivating_an_endpoint_cancels_its_pending_retries(user, receiver, clock):
    receiver.answer(500)
    hook = endpoint(receiver.url, ["mfa.reset"])
    services.reset_mfa(user)
    run_worker()
    hook.is_active = False
    hook.save()
    clock.shift(60)
    run_worker()
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == Status.CANCELLED


@committed
def test_timeouts_and_refused_connections_are_failed_attempts_with_their_error(
    user, receiver, clock
):
    receiver.answer(Answer(hang=True))
    slow = endpoint(receiver.url, ["mfa.reset"])
    closed = endpoint(closed_port_url(), ["mfa.reset"])
    with override_settings(MFA_WEBHOOK_TIMEOUT=0.2):
        services.reset_mfa(user)
        run_worker()

    timed_out = WebhookAttempt.objects.get(delivery__endpoint=slow)
    refused = WebhookAttempt.objects.get(delivery__endpoint=closed)
    assert (timed_out.succeeded, timed_out.status_code) == (False, None)
    assert "timed out" in timed_out.error
    assert (refused.succeeded, refused.status_code) == (False, None)
    assert "refused" in refused.error.lower()
    for delivery in WebhookDelivery.objects.all():
        assert delivery.status == Status.PENDING
        assert delivery.next_attempt_at == delivery.last_attempt_at + timedelta(seconds=60)


@committed
def test_redirects_are_not_followed(user, receiver):
    receiver.answer(Answer(302, headers={"Location": f"{receiver.url}?moved"}))
    endpoint(receiver.url, ["mfa.reset"])
    services.reset_mfa(user)
    run_worker()
    assert len(receiver.requests) == 1
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded) == (302, False)


@committed
def test_private_addresses_are_refused_unless_allowed(user, receiver):
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    endpoint(receiver.url, ["mfa.reset"])
    endpoint(by_name, ["mfa.reset"])
    with override_settings(MFA_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False):
        services.reset_mfa(user)
        run_worker()
    assert receiver.requests == []
    errors = list(WebhookAttempt.objects.values_list("error", flat=True))
    assert len(errors) == 2
    assert all("private, loopback or reserved address" in error for error in errors)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.example.com/mfa", True),  # a name: checked when resolved, each time
        ("http://8.8.8.8:8080/mfa", True),
        ("http://198.51.100.7:8080/mfa", False),  # a documentation range: reserved
        ("http://10.0.0.5/mfa", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("http://[::1]/mfa", False),
        ("http://[::ffff:127.0.0.1]/mfa", False),
        ("ftp://hooks.example.com/mfa", False),
        ("https://user:password@hooks.example.com/mfa", False),
    ],
)
@override_settings(MFA_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
def test_the_admin_form_refuses_urls_webhooks_may_not_go_to(url, allowed):
    form = WebhookEndpointForm(
        data={"name": "Ops", "url": url, "is_active": "on", "events": ["mfa.reset"]}
    )
    assert form.is_valid() == allowed, form.errors


# --- crashes, duplicates, and queues without deferred tasks ------------------------------------


class WorkerKilled(BaseException):
    """As if the worker process died after sending, before recording the outcome."""


@committed
def test_an_attempt_cut_short_is_sent_again_with_the_same_id_after_its_lease(
    user, receiver, clock, monkeypatch
):
    endpoint(receiver.url, ["mfa.reset"])

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(delivery_module, "_record", killed)
    services.reset_mfa(user)
    run_worker()
    monkeypatch.undo()
    assert len(receiver.requests) == 1
    assert not WebhookAttempt.objects.exists()

    clock.shift(60 + 3 * 5 - 1)  # the lease: three timeouts and a minute
    call_command("mfa_webhooks", "--send-due")
    run_worker()
    assert len(receiver.requests) == 1
    clock.shift(1)
    call_command("mfa_webhooks", "--send-due")
    call_command("mfa_webhooks", "--send-due")  # queued twice: still sent once
    run_worker()

    first, second = receiver.requests
    assert first.headers["X-MFA-Webhook-Id"] == second.headers["X-MFA-Webhook-Id"]
    assert first.body == second.body
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    assert list(WebhookAttempt.objects.values_list("number", flat=True)) == [2]


@committed
def test_without_deferred_tasks_retries_wait_for_send_due(user, receiver, clock):
    receiver.answer(500)
    endpoint(receiver.url, ["mfa.reset"])
    immediate = {**settings.TASKS, "webhooks": {"BACKEND": IMMEDIATE}}
    with override_settings(TASKS=immediate):
        services.reset_mfa(user)
        assert len(receiver.requests) == 1  # sent at once, in this process
        clock.shift(60)
        assert len(receiver.requests) == 1
        call_command("mfa_webhooks", "--send-due")
    assert len(receiver.requests) == 2
    assert WebhookDelivery.objects.get().status == Status.SUCCEEDED


@committed
def test_a_queue_failure_is_logged_and_never_breaks_the_request(client, user, receiver, caplog):
    endpoint(receiver.url, ["mfa.reset"])
    TOTPFactorFactory(user=user)
    sign_in_with_mfa(client, StaffFactory())
    user_admin = f"admin:{user._meta.app_label}_{user._meta.model_name}_changelist"
    with override_settings(MFA_WEBHOOK_TASK_BACKEND="nowhere"):
        response = client.post(
            reverse(user_admin),
            {"action": "mfa_reset", "_selected_action": [user.pk], "mfa_reset_confirm": "yes"},
        )
    assert response.status_code == 302
    assert not services.mfa_status(user).enabled
    assert "Could not queue webhook delivery" in caplog.text

    call_command("mfa_webhooks", "--send-due")
    run_worker()
    assert [r.json()["type"] for r in receiver.requests] == ["mfa.reset"]


# --- the admin --------------------------------------------------------------------------------


@committed
def test_the_admin_shows_each_attempt_and_never_the_secret(client, user, receiver, clock):
    receiver.answer(Answer(500, body=b"database is down"), 200)
    hook = endpoint(receiver.url, ["mfa.reset"])
    services.reset_mfa(user)
    run_worker()
    clock.shift(60)
    run_worker()
    sign_in_with_mfa(client, StaffFactory())
    delivery = WebhookDelivery.objects.get()

    pages = {
        "endpoint list": client.get(admin_url(WebhookEndpoint, "changelist")),
        "endpoint": client.get(admin_url(WebhookEndpoint, "change", hook.pk)),
        "delivery list": client.get(admin_url(WebhookDelivery, "changelist")),
        "delivery": client.get(admin_url(WebhookDelivery, "change", delivery.pk)),
    }
    html = {name: page.content.decode() for name, page in pages.items()}
    assert all(page.status_code == 200 for page in pages.values())
    for name, text in html.items():
        assert hook.secret not in text, name
    assert f"whsec_…{hook.secret[-4:]}" in html["endpoint"]
    for name in ("endpoint", "delivery list"):
        assert "HTTP 200" in html[name] and "Delivered" in html[name], name
    attempts = html["delivery"]
    assert "database is down" in attempts
    assert cells(attempts, "status_code") == ["500", "200"]
    assert cells(attempts, "response_excerpt") == ["database is down", "ok"]
    assert str(delivery.pk) in attempts and "mfa.reset" in attempts
    listed = admin_url(WebhookDelivery, "changelist")
    for status, count in ((Status.FAILED, 0), (Status.SUCCEEDED, 1)):
        filtered = client.get(f"{listed}?status__exact={status}&endpoint__id__exact={hook.pk}")
        assert filtered.context["cl"].result_count == count


@committed
def test_a_new_endpoint_shows_its_secret_once_and_rolling_keeps_the_old_one_a_day(
    client, user, receiver, clock
):
    sign_in_with_mfa(client, StaffFactory())
    added = client.post(
        admin_url(WebhookEndpoint, "add"),
        {"name": "Ops", "url": receiver.url, "is_active": "on", "events": ["mfa.reset"]},
    )
    hook = WebhookEndpoint.objects.get()
    first = secret_on(added)
    assert first == hook.secret and first.startswith("whsec_") and len(first) >= 48
    assert "no-store" in added["Cache-Control"]
    assert first not in client.get(admin_url(WebhookEndpoint, "change", hook.pk)).content.decode()

    roll = reverse("admin:mfa_app_webhookendpoint_roll_secret", args=[hook.pk])
    assert client.get(roll).status_code == 200
    assert WebhookEndpoint.objects.get().secret == first  # a GET changes nothing
    second = secret_on(client.post(roll))
    assert second != first and second == WebhookEndpoint.objects.get().secret

    services.reset_mfa(user)
    run_worker()
    clock.shift(timedelta(hours=24, seconds=1))
    services.reset_mfa(user)
    run_worker()
    during, after = receiver.requests
    for request, signed_by in ((during, {first, second}), (after, {second})):
        stamp = request.headers["X-MFA-Webhook-Timestamp"]
        signature = request.headers["X-MFA-Webhook-Signature"]
        passes = {
            s
            for s in (first, second)
            if verify_signature(s, stamp, request.body, signature, now=int(stamp))
        }
        assert passes == signed_by


@committed
def test_send_a_test_event_and_retry_now_from_the_admin(client, user, receiver):
    hook = endpoint(receiver.url, ["mfa.reset"])
    with override_settings(MFA_WEBHOOK_RETRY_SCHEDULE=[]):
        receiver.answer(500)
        services.reset_mfa(user)
        run_worker()
    failed = WebhookDelivery.objects.get()
    assert failed.status == Status.FAILED
    sign_in_with_mfa(client, StaffFactory())

    client.post(
        admin_url(WebhookEndpoint, "changelist"),
        {"action": "send_test_event", "_selected_action": [hook.pk]},
    )
    client.post(
        admin_url(WebhookDelivery, "changelist"),
        {"action": "retry_now", "_selected_action": [str(failed.pk)]},
    )
    run_worker()

    ping, retried = sorted(receiver.requests[1:], key=lambda r: r.json()["type"])
    assert ping.json()["type"] == TEST_EVENT_TYPE
    assert verify_signature(
        hook.secret,
        ping.headers["X-MFA-Webhook-Timestamp"],
        ping.body,
        ping.headers["X-MFA-Webhook-Signature"],
    )
    assert retried.headers["X-MFA-Webhook-Id"] == str(failed.pk)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SUCCEEDED, 2)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"MFA_WEBHOOK_RETRY_SCHEDULE": [60, "5m"]}, ["mfa_app.E020"]),
        ({"MFA_WEBHOOK_RETRY_SCHEDULE": 60}, ["mfa_app.E020"]),
        ({"MFA_WEBHOOK_TIMEOUT": 0}, ["mfa_app.E021"]),
        ({"MFA_WEBHOOK_TASK_BACKEND": "nowhere"}, ["mfa_app.E022"]),
        ({"MFA_WEBHOOK_TASK_QUEUE": "webhooks"}, ["mfa_app.E022"]),
    ],
)
def test_misconfigured_webhook_settings_fail_the_checks(overrides, expected):
    with override_settings(**overrides):
        assert [problem.id for problem in check_webhooks()] == expected
