"""With a shared cache, the configured policies cost no query once known, and a policy saved
(in the admin, by ``mfa_policy`` or the service) applies to the very next sign-in."""

from contextlib import contextmanager

import pytest
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfa_app.models import ApplicationPolicy, Requirement
from mfa_app.policy import policy_for, resolution
from mfa_app.services import recovery_codes_after_enrollment

from .conftest import password_login
from .factories import MembershipFactory, TenantPolicyFactory, TOTPFactorFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def policy_reads(user) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        policy = policy_for(user)
    reads = [q for q in queries.captured_queries if "policy" in q["sql"]]
    return policy.requirement, len(reads)


def test_the_application_policy_is_read_once_then_follows_each_save(shared_cache):
    user = UserFactory()
    # The application's policy, and whether any tenant's overrides it.
    assert policy_reads(user) == (Requirement.OPTIONAL, 2)
    assert policy_reads(user) == (Requirement.OPTIONAL, 0)

    policy = ApplicationPolicy.load()
    policy.requirement = Requirement.REQUIRED
    policy.save()
    # Both again: they are kept together, one cache read for both.
    assert policy_reads(user) == (Requirement.REQUIRED, 2)
    assert policy_reads(user) == (Requirement.REQUIRED, 0)


def test_the_tenant_resolver_is_asked_only_while_some_tenant_overrides(shared_cache):
    member = MembershipFactory()
    policy_for(member.user)
    fresh = type(member.user)._default_manager.get(pk=member.user.pk)
    with CaptureQueriesContext(connection) as queries:
        policy_for(fresh)
    assert not [q for q in queries.captured_queries if "membership" in q["sql"]]

    TenantPolicyFactory(tenant=member.organization, requirement=Requirement.REQUIRED)
    fresh = type(member.user)._default_manager.get(pk=member.user.pk)
    assert policy_for(fresh).requirement == Requirement.REQUIRED


def test_a_tenant_override_switched_on_or_off_applies_at_once(shared_cache):
    member = MembershipFactory()
    tenant_policy = TenantPolicyFactory(
        tenant=member.organization, requirement=Requirement.REQUIRED, override=True
    )
    assert policy_reads(member.user)[0] == Requirement.REQUIRED
    assert policy_reads(member.user) == (Requirement.REQUIRED, 0)

    tenant_policy.override = False
    tenant_policy.save()
    assert policy_reads(member.user)[0] == Requirement.OPTIONAL

    tenant_policy.delete()
    assert policy_reads(member.user)[0] == Requirement.OPTIONAL


def test_a_per_process_cache_reads_the_policy_every_time():
    # Another process's saved policy would go unseen by a copy kept in this one.
    user = UserFactory()
    assert policy_reads(user)[1] == 1
    assert policy_reads(user)[1] == 1


def test_one_request_reads_each_shared_answer_once(shared_cache, monkeypatch):
    # A recovery-code answer asks for the policy and "any webhook active?" twice each (the
    # challenge, then the email that follows): one cache round trip brings both, once.
    user = TOTPFactorFactory(user=UserFactory()).user
    codes = recovery_codes_after_enrollment(user)
    client = Client()
    password_login(client, user)
    round_trips = []
    backend = type(caches["default"])
    read, read_many = backend.get, backend.get_many

    def counted(self, key, *args, **kwargs):
        round_trips.append([key])
        return read(self, key, *args, **kwargs)

    def counted_many(self, keys, *args, **kwargs):
        round_trips.append(list(keys))
        # The file cache reads them one by one: still one request to a real server.
        monkeypatch.setattr(backend, "get", read)
        try:
            return read_many(self, keys, *args, **kwargs)
        finally:
            monkeypatch.setattr(backend, "get", counted)

    monkeypatch.setattr(backend, "get", counted)
    monkeypatch.setattr(backend, "get_many", counted_many)
    response = client.post(reverse("mfa_app:challenge"), {"factor": "RECOVERY", "code": codes[0]})
    assert response.status_code == 302
    site_wide = [keys for keys in round_trips if any("policy" in key for key in keys)]
    assert len(site_wide) == 1
    assert any("webhooks" in key for key in site_wide[0])
    every_key = [key for keys in round_trips for key in keys]
    assert len(every_key) == len(set(every_key))


@contextmanager
def one_request():
    """Inside a request as Django's handler begins and ends it, connections left open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=__name__)
        yield
    finally:
        request_finished.send(sender=__name__)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_a_policy_saved_during_a_request_applies_in_that_request(shared_cache):
    user = UserFactory()
    with one_request():
        assert policy_for(user).requirement == Requirement.OPTIONAL
        policy = ApplicationPolicy.load()
        policy.requirement = Requirement.REQUIRED
        policy.save()
        assert policy_for(user).requirement == Requirement.REQUIRED
    assert policy_reads(user) == (Requirement.REQUIRED, 0)


def test_an_old_policy_cached_by_another_request_before_the_commit_is_dropped_at_commit(
    shared_cache,
):
    user = UserFactory()
    old = resolution._application_policy_and_any_override()
    with one_request():
        with transaction.atomic():
            policy = ApplicationPolicy.load()
            policy.requirement = Requirement.REQUIRED
            policy.save()
            # Another process, not seeing the change yet, caches the old policy again; this
            # request then reads it back.
            caches["default"].set(resolution.APPLICATION_KEY, old)
            assert policy_for(user).requirement == Requirement.OPTIONAL
        assert policy_for(user).requirement == Requirement.REQUIRED
