"""With a shared cache, an MFA event costs no query for webhooks while no endpoint is active,
and an endpoint saved (or switched off, or deleted) is seen by the very next event."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mfa_app import events
from mfa_app.models import MFAEvent, WebhookDelivery, WebhookEndpoint

from .factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def record(user) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        events.record(MFAEvent.Kind.VERIFIED, user, factor_type="TOTP")
    return [q["sql"] for q in queries.captured_queries if "webhookendpoint" in q["sql"]]


def endpoint(**fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="Ops", url="https://hooks.example.com/mfa", events=["mfa.challenge_passed"], **fields
    )


def test_no_active_endpoint_costs_no_query_once_known(shared_cache):
    user = UserFactory()
    record(user)  # the first event finds out
    assert record(user) == []
    endpoint(is_active=False)
    assert record(user) != []  # saved: asked again
    assert record(user) == []
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_saved_gets_the_next_event(shared_cache):
    user = UserFactory()
    record(user)
    hook = endpoint()
    record(user)
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 1
    hook.is_active = False
    hook.save()
    record(user)
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 1
    hook.is_active = True
    hook.save()
    record(user)
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 2
    hook.delete()
    assert record(user) != []
    assert record(user) == []


def test_a_per_process_cache_always_asks_the_database():
    # Another process's new endpoint would go unseen by a flag kept in this one.
    user = UserFactory()
    record(user)
    assert record(user) != []
