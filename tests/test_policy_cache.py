"""With a shared cache, the configured policies cost no query once known, and a policy saved
(in the admin, by ``mfa_policy`` or the service) applies to the very next sign-in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mfa_app.models import ApplicationPolicy, Requirement
from mfa_app.policy import policy_for

from .factories import MembershipFactory, TenantPolicyFactory, UserFactory

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
