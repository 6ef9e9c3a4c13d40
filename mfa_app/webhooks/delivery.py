"""One attempt of a delivery: claim it, send it, record the outcome, schedule the next one.

Each run of the task makes at most one attempt. The claim is one conditional UPDATE (the
delivery must be pending, due, and at the attempt count this run read), so two runs of the
task for the same delivery (a duplicate enqueue, ``mfa_webhooks --send-due`` beside a deferred
task) cannot both send. A claim holds the delivery for a lease: if the worker dies mid-attempt,
the delivery becomes due again when the lease ends and is sent again with the same id.

Queueing the next attempt is the task's job (``mfa_app.tasks``): this module knows nothing of
the queue, so the task depends on it and not the other way round.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F

from .. import clock, crypto
from ..conf import app_settings
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import transport
from .signing import (
    EVENT_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

logger = logging.getLogger("mfa_app.webhooks")
Status = WebhookDelivery.Status

ATTEMPT_HEADER = "X-MFA-Webhook-Attempt"
USER_AGENT = "mfa_app-webhooks/1"
# Beyond the worst case of an attempt (connect, send and read, each up to the timeout).
LEASE_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class Attempted:
    """What ``attempt`` did: the delivery's status afterwards, and when to retry (if ever)."""

    status: str
    retry_at: datetime | None = None


def attempt(delivery_id: str) -> Attempted:
    """Make the next attempt of a delivery if it is due."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Status.PENDING:
        return Attempted(delivery.status if delivery is not None else "missing")
    if not delivery.endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
            status=Status.CANCELLED, next_attempt_at=None
        )
        return Attempted(Status.CANCELLED)
    number = _claim(delivery)
    if number is None:
        return Attempted("not_due")
    started_at = clock.now()
    try:
        outcome = _send(delivery, number, int(started_at.timestamp()))
    except Exception as exc:
        # Recorded as a failed attempt: the schedule goes on and ends, rather than the claim
        # lapsing and the same crash repeating for ever.
        logger.exception("Webhook %s: attempt %d failed unexpectedly", delivery.pk, number)
        outcome = transport.Outcome(0, error=transport.describe(exc))
    return _record(delivery, number, started_at, outcome)


def _claim(delivery: WebhookDelivery) -> int | None:
    now = clock.now()
    lease = timedelta(seconds=3 * float(app_settings.WEBHOOK_TIMEOUT)) + LEASE_MARGIN
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=Status.PENDING,
        next_attempt_at__lte=now,
        attempts=delivery.attempts,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + lease)
    return delivery.attempts + 1 if claimed else None


def _send(delivery: WebhookDelivery, number: int, timestamp: int) -> transport.Outcome:
    try:
        keys = signing_secrets(delivery.endpoint)
    except crypto.DecryptionError:
        logger.exception("Webhook endpoint %s: its secret cannot be decrypted", delivery.endpoint)
        return transport.Outcome(0, error="The endpoint's secret cannot be decrypted.")
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        ID_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(key, timestamp, body) for key in keys),
        EVENT_HEADER: delivery.event_type,
        ATTEMPT_HEADER: str(number),
    }
    return transport.post(delivery.endpoint.url, body, headers)


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets requests are signed with: the current one, and the previous one if valid."""
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > clock.now():
        keys.append(endpoint.previous_secret)
    return keys


def _record(
    delivery: WebhookDelivery, number: int, started_at: datetime, outcome: transport.Outcome
) -> Attempted:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        started_at=started_at,
        duration_ms=outcome.duration_ms,
        succeeded=outcome.ok,
        status_code=outcome.status_code,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
    )
    status, next_at = _next_step(number, outcome.ok)
    # Only if no later run took the delivery over (after this one's lease ran out).
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=number).update(
        status=status,
        next_attempt_at=next_at,
        last_attempt_at=started_at,
        last_status_code=outcome.status_code,
    )
    if not outcome.ok:
        log = logger.warning if status == Status.FAILED else logger.info
        log(
            "Webhook %s to %s, attempt %d failed (%s)%s",
            delivery.pk,
            delivery.endpoint,
            number,
            outcome.error or f"HTTP {outcome.status_code}",
            "; giving up" if status == Status.FAILED else "",
        )
    # No retry if a later run took the delivery over: that run schedules its own.
    return Attempted(status, next_at if updated else None)


def _next_step(number: int, ok: bool) -> tuple[str, datetime | None]:
    """The status after attempt ``number``, and when the next attempt is due."""
    schedule = list(app_settings.WEBHOOK_RETRY_SCHEDULE)
    if ok:
        return Status.SUCCEEDED, None
    if number <= len(schedule):
        return Status.PENDING, clock.now() + timedelta(seconds=schedule[number - 1])
    return Status.FAILED, None
