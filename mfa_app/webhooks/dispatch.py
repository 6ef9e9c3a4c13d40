"""From MFA events to deliveries, and deliveries to the task queue.

A delivery row is written in the same transaction as the audit event (so a rolled-back change
sends nothing), and queued once that transaction commits. A delivery that could not be queued
stays due: ``manage.py mfa_webhooks --send-due`` queues every due delivery again.
"""

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .. import clock, shared_state
from ..events import SIGNALS
from ..models import MFAEvent, WebhookDelivery, WebhookEndpoint
from .signing import generate_secret
from .types import EVENT_TYPES, TEST_EVENT_TYPE

logger = logging.getLogger("mfa_app.webhooks")
Status = WebhookDelivery.Status

# How long requests also carry the signature of the secret before the last roll.
ROLL_OVERLAP = timedelta(hours=24)


def on_mfa_event(sender: Any, event: MFAEvent, **kwargs: Any) -> None:
    """Write a delivery for each active endpoint that subscribed to the event's type."""
    event_type = EVENT_TYPES.get(event.kind)
    if event_type is None:
        return
    using = event._state.db or "default"
    try:
        if not _any_active(using):
            return
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.using(using).filter(is_active=True)
            if event_type in endpoint.events
        ]
        if not endpoints:
            return
        # A savepoint: a failure here must not break the caller's transaction.
        with transaction.atomic(using=using):
            ids = _create(endpoints, event_type, event, using)
    except DatabaseError:
        logger.exception("Could not record the webhooks of MFA event %s", event.pk)
        return
    transaction.on_commit(partial(enqueue_all, ids), using=using, robust=True)


for _signal in SIGNALS.values():
    _signal.connect(on_mfa_event, dispatch_uid="mfa_app.webhooks")

# Whether any endpoint is active, in the shared cache: most sites have none, and then an
# event costs no query for its webhooks.
_ACTIVE_KEY = "mfa_app:webhooks:any_active:{}"


def _any_active(using: str) -> bool:
    """Whether an endpoint may be active: ``True`` without a shared cache (the caller's
    query for the endpoints tells)."""
    if shared_state.shared_cache() is None:
        return True
    return shared_state.remembered(
        _ACTIVE_KEY.format(using),
        lambda: WebhookEndpoint.objects.using(using).filter(is_active=True).exists(),
        site_wide=True,
    )


@receiver(post_save, sender=WebhookEndpoint, dispatch_uid="mfa_app.webhooks.saved")
@receiver(post_delete, sender=WebhookEndpoint, dispatch_uid="mfa_app.webhooks.deleted")
def _endpoints_changed(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
    using = shared_state.saved_using(instance, **kwargs)
    shared_state.forget(_ACTIVE_KEY.format(using), using)


def _create(
    endpoints: list[WebhookEndpoint], event_type: str, event: MFAEvent, using: str
) -> list[uuid.UUID]:
    now = clock.now()
    deliveries = []
    for endpoint in endpoints:
        delivery_id = uuid.uuid4()
        body = encode(payload(delivery_id, event_type, event.created_at, _event_data(event)))
        deliveries.append(
            WebhookDelivery(
                id=delivery_id,
                endpoint=endpoint,
                event=event,
                event_type=event_type,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
        )
    WebhookDelivery.objects.using(using).bulk_create(deliveries)
    return [delivery.pk for delivery in deliveries]


def payload(delivery_id: uuid.UUID, event_type: str, at: datetime, data: dict) -> dict:
    return {"id": str(delivery_id), "type": event_type, "created_at": at.isoformat(), "data": data}


def _event_data(event: MFAEvent) -> dict[str, Any]:
    # Only what the audit row holds, which never includes a secret or a code.
    return {
        "user": {
            "id": str(event.user_id) if event.user_id is not None else None,
            "username": event.username,
        },
        "tenant": event.tenant or None,
        "factor_type": event.factor_type or None,
        "ip_address": event.ip_address or None,
        "actor": event.actor or None,
        "details": event.details,
    }


def encode(data: dict) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))


# --- queueing -------------------------------------------------------------------------------


def enqueue(delivery_id: uuid.UUID | str) -> bool:
    """Queue an attempt of a delivery now; log and return False on failure."""
    try:
        # Imported here: an unknown task backend fails the import, which must neither stop
        # mfa_app from loading (check E022 reports it) nor break the caller.
        from ..tasks import enqueue_delivery
    except Exception:
        logger.exception("Could not queue webhook delivery %s", delivery_id)
        return False
    return enqueue_delivery(delivery_id)


def enqueue_all(delivery_ids: Iterable[uuid.UUID | str]) -> int:
    return sum(enqueue(delivery_id) for delivery_id in delivery_ids)


def due() -> list[uuid.UUID]:
    """Pending deliveries whose next attempt is due (including any whose claim lapsed)."""
    return list(
        WebhookDelivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=clock.now()
        ).values_list("pk", flat=True)
    )


def send_due() -> int:
    """Queue an attempt of every due delivery; return how many were queued."""
    return enqueue_all(due())


# --- staff actions --------------------------------------------------------------------------


def retry_now(deliveries: Iterable[WebhookDelivery]) -> int:
    """Make the next attempt of each delivery not yet delivered due now, and queue it.

    A delivery that had given up gets one more attempt (more if the retry schedule has room).
    """
    ids = [d.pk for d in deliveries if d.status != Status.SUCCEEDED]
    WebhookDelivery.objects.filter(pk__in=ids).exclude(status=Status.SUCCEEDED).update(
        status=Status.PENDING, next_attempt_at=clock.now()
    )
    _after_commit(ids)
    return len(ids)


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``mfa.ping`` delivery to ``endpoint``, whatever events it subscribed to."""
    now = clock.now()
    delivery_id = uuid.uuid4()
    data = {"endpoint": endpoint.name, "message": "A test event from mfa_app."}
    delivery = WebhookDelivery.objects.create(
        id=delivery_id,
        endpoint=endpoint,
        event_type=TEST_EVENT_TYPE,
        body=encode(payload(delivery_id, TEST_EVENT_TYPE, now, data)),
        next_attempt_at=now,
        created_at=now,
    )
    _after_commit([delivery.pk])
    return delivery


def roll_secret(endpoint: WebhookEndpoint) -> str:
    """Give ``endpoint`` a new secret; requests carry the old one's signature for a day more."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = clock.now() + ROLL_OVERLAP
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint.secret


def prune(days: int) -> int:
    """Delete finished deliveries (and their attempts) created more than ``days`` days ago."""
    cutoff = clock.now() - timedelta(days=days)
    finished = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=Status.PENDING)
    return finished.delete()[1].get(WebhookDelivery._meta.label, 0)


def _after_commit(ids: list) -> None:
    if ids:
        transaction.on_commit(partial(enqueue_all, ids), robust=True)
