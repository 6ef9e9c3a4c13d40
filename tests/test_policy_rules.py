"""The policy rules, kept in mfa_app.policy, give one answer through each door that uses them.

The service, the admin and the ``mfa_policy`` command refuse the same policies with the same
words; the user admin's list resolves a page of users as ``policy_for`` resolves each; a
bypass lasts at most ``BYPASS_MAX_DAYS`` days whoever grants it.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from mfa_app import errors, services
from mfa_app.models import MFAEvent, Requirement, TenantPolicy, UserState
from mfa_app.policy import BYPASS_MAX_DAYS, policies_for, policy_for

from .conftest import sign_in_with_mfa
from .factories import (
    MembershipFactory,
    StaffFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    UserFactory,
)
from .test_admin import admin_url, policy_form
from .test_admin_policy_engine import grant

User = get_user_model()
NO_FACTOR = "Allow at least one factor, or set the requirement to disabled."
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    sign_in_with_mfa(client, staff)
    return client


# --- what a policy in force may allow -------------------------------------------------------


def test_an_enforced_policy_without_factors_is_refused_alike_everywhere(staff_client, app_policy):
    with pytest.raises(ValidationError) as by_service:
        services.update_policy(requirement=Requirement.REQUIRED, allowed_factors=[])
    assert by_service.value.message_dict == {"allowed_factors": [NO_FACTOR]}

    with pytest.raises(CommandError) as by_command:
        call_command("mfa_policy", "set", "--mode", "REQUIRED", "--allowed-factors", "")
    assert f"allowed-factors: {NO_FACTOR}" in str(by_command.value)

    data = policy_form(requirement=Requirement.REQUIRED, allowed_factors=[])
    response = staff_client.post(admin_url(type(app_policy), "change", app_policy.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["allowed_factors"] == [NO_FACTOR]

    app_policy.refresh_from_db()
    assert app_policy.requirement == Requirement.OPTIONAL
    assert app_policy.allowed_factors == ["TOTP", "WEBAUTHN"]


def test_a_tenant_policy_out_of_force_may_allow_no_factor_in_the_admin_too(staff_client):
    member = MembershipFactory().user
    tenant = member.membership.organization
    data = policy_form(tenant=tenant.pk, requirement=Requirement.REQUIRED, allowed_factors=[])
    response = staff_client.post(admin_url(TenantPolicy, "add"), data)
    assert response.status_code == 302
    assert TenantPolicy.objects.get(tenant=tenant).allowed_factors == []
    assert policy_for(member).source == "application"

    with pytest.raises(ValidationError) as caught:
        services.update_policy(tenant, override=True)
    assert caught.value.message_dict == {"allowed_factors": [NO_FACTOR]}


def test_the_admin_saves_factors_in_the_services_order(staff_client, app_policy):
    data = policy_form(allowed_factors=["EMAIL", "TOTP"])
    response = staff_client.post(admin_url(type(app_policy), "change", app_policy.pk), data)
    assert response.status_code == 302
    app_policy.refresh_from_db()
    assert app_policy.allowed_factors == ["TOTP", "EMAIL"]
    services.update_policy(allowed_factors=["EMAIL", "TOTP"])
    app_policy.refresh_from_db()
    assert app_policy.allowed_factors == ["TOTP", "EMAIL"]


# --- the policies of a page of users --------------------------------------------------------


def people() -> list:
    """Users under each way a policy can apply, fetched as an admin list fetches them."""
    overriding = TenantPolicyFactory(requirement=Requirement.REQUIRED, allowed_factors=["SMS"])
    dormant = TenantPolicyFactory(override=False, requirement=Requirement.DISABLED)
    made = [
        UserFactory(),
        StaffFactory(),
        MembershipFactory(organization=overriding.tenant).user,
        MembershipFactory(organization=overriding.tenant, user=StaffFactory()).user,
        MembershipFactory(organization=dormant.tenant).user,
        MembershipFactory().user,  # a tenant without a policy
        TOTPFactorFactory().user,
    ]
    page = User.objects.filter(pk__in=[u.pk for u in made]).order_by("pk")
    return list(page.select_related("membership__organization"))


def test_policies_for_a_page_agree_with_policy_for_each_user(db):
    users = people()
    assert policies_for(users) == [policy_for(user) for user in users]
    sources = {p.source for p in policies_for(users)}
    assert sources == {"application", "tenant"}
    assert any(p.staff_rule for p in policies_for(users))


def test_policies_for_without_any_override_is_the_application_policy(db):
    users = people()
    TenantPolicy.objects.update(override=False)
    assert policies_for(users) == [policy_for(user) for user in users]
    assert {p.source for p in policies_for(users)} == {"application"}


def test_policies_for_takes_the_same_few_queries_for_any_number_of_users(
    db, django_assert_max_num_queries
):
    users = people() + people() + people()
    with django_assert_max_num_queries(3):
        policies_for(users)
    assert policies_for([]) == []


# --- how long a bypass may last -------------------------------------------------------------


@pytest.mark.parametrize("days", [BYPASS_MAX_DAYS + 1, 365])
def test_the_service_refuses_a_bypass_longer_than_the_cap_and_saves_nothing(totp_user, days):
    staff = StaffFactory()
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(errors.InvalidBypass) as caught:
            services.grant_bypass(
                totp_user, timezone.now() + timedelta(days=days), "Lost phone", staff
            )
        assert caught.value.message == "A bypass lasts at most 30 days."
        assert services.active_bypass(totp_user) is None
    assert not UserState.objects.filter(bypass_until__isnull=False).exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.BYPASS_GRANTED).exists()


def test_the_service_grants_a_bypass_of_exactly_the_cap(totp_user):
    assert BYPASS_MAX_DAYS == 30
    staff = StaffFactory()
    with time_machine.travel(NOW, tick=False):
        until = timezone.now() + timedelta(days=30)
        services.grant_bypass(totp_user, until, "Lost phone", staff)
        assert services.active_bypass(totp_user).bypass_until == until
    assert MFAEvent.objects.filter(kind=MFAEvent.Kind.BYPASS_GRANTED).count() == 1


def test_the_admin_form_refuses_a_long_bypass_with_the_services_words(staff_client, totp_user):
    until = timezone.now() + timedelta(days=BYPASS_MAX_DAYS, hours=1)
    response = grant(staff_client, [totp_user], until=until)
    assert response.status_code == 200
    assert response.context["form"].errors["until"] == ["A bypass lasts at most 30 days."]
    assert "At most 30 days from now" in response.content.decode()
    assert services.active_bypass(totp_user) is None
