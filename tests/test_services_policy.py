"""The policy service: changing the application and tenant policies, and explaining a user's."""

import pytest
from django.core.exceptions import ValidationError

from mfa_app import services
from mfa_app.models import ApplicationPolicy, Requirement, TenantPolicy
from mfa_app.policy import POLICY_FIELDS, policy_for

from .conftest import sign_in_with_mfa
from .factories import MembershipFactory, StaffFactory, TenantPolicyFactory, UserFactory
from .test_admin import admin_url, policy_form


def stored(policy) -> dict:
    policy.refresh_from_db()
    return services.policy_values(policy)


@pytest.fixture
def staff_client(client):
    sign_in_with_mfa(client, StaffFactory())
    return client


@pytest.fixture
def member(db):
    return MembershipFactory().user


def test_changing_the_application_policy_changes_every_users_policy(app_policy, user):
    saved = services.update_policy(
        requirement=Requirement.REQUIRED,
        allowed_factors=["WEBAUTHN", "TOTP", "SMS"],
        recovery_codes_count=12,
        grace_period_days=7,
    )
    assert saved.pk == ApplicationPolicy.SINGLETON_PK
    policy = policy_for(user)
    assert policy.required and policy.grace_period_days == 7
    assert policy.recovery_codes_count == 12
    assert policy.allowed_factors == {"TOTP", "WEBAUTHN", "SMS"}
    # Stored in the admin's order, whatever order they were given in.
    assert stored(app_policy)["allowed_factors"] == ["TOTP", "WEBAUTHN", "SMS"]


def test_values_are_converted_as_the_admin_form_converts_them(app_policy):
    services.update_policy(recovery_codes_count="5", allowed_factors="EMAIL,TOTP")
    values = stored(app_policy)
    assert values["recovery_codes_count"] == 5
    assert values["allowed_factors"] == ["TOTP", "EMAIL"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"requirement": "SOMETIMES"}, "requirement"),
        ({"requirement": "required"}, "requirement"),
        ({"allowed_factors": ["TOTP", "CARRIER_PIGEON"]}, "allowed_factors"),
        ({"allowed_factors": 7}, "allowed_factors"),
        ({"recovery_codes_count": 0}, "recovery_codes_count"),
        ({"recovery_codes_count": 21}, "recovery_codes_count"),
        ({"recovery_codes_count": "ten"}, "recovery_codes_count"),
        ({"grace_period_days": -1}, "grace_period_days"),
        ({"grace_period_days": 366}, "grace_period_days"),
        ({"trusted_device_days": 0}, "trusted_device_days"),
        ({"issuer": "x" * 101}, "issuer"),
        ({"risk_new_device": "maybe"}, "risk_new_device"),
        ({"allowed_factors": []}, "allowed_factors"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_value_is_refused_by_name_and_changes_nothing(app_policy, changes, field):
    before = stored(app_policy)
    with pytest.raises(ValidationError) as caught:
        # A good change beside the bad one is not saved either.
        services.update_policy(**{"issuer": "Changed", "grace_period_days": 3, **changes})
    assert field in caught.value.message_dict
    assert stored(app_policy) == before


def test_no_factor_is_fine_when_mfa_is_disabled(app_policy):
    services.update_policy(requirement=Requirement.DISABLED, allowed_factors=[])
    assert stored(app_policy)["allowed_factors"] == []


def test_the_application_policy_has_no_override(app_policy):
    with pytest.raises(ValidationError) as caught:
        services.update_policy(override=True)
    assert "override" in caught.value.message_dict


def test_a_new_tenant_policy_starts_from_the_application_and_overrides(app_policy, member, user):
    services.update_policy(issuer="Example", grace_period_days=4)
    tenant = member.membership.organization

    policy = services.update_policy(tenant, requirement=Requirement.REQUIRED)

    assert policy.override is True
    values = stored(policy)
    assert values["requirement"] == Requirement.REQUIRED
    assert values["issuer"] == "Example" and values["grace_period_days"] == 4
    assert policy_for(member).required and policy_for(member).source == "tenant"
    # Users outside the tenant keep the application policy.
    assert not policy_for(user).required and policy_for(user).source == "application"


def test_the_service_saves_what_the_admin_saves(staff_client, app_policy):
    services.update_policy(recovery_codes_count=6, risk_new_location=False)
    by_admin, by_service = MembershipFactory().user, MembershipFactory().user
    data = policy_form(
        tenant=by_admin.membership.organization.pk,
        override="on",
        requirement=Requirement.RISK_BASED,
        allowed_factors=["TOTP", "SMS"],
        recovery_codes_count="6",
        trusted_device_days="14",
    )
    data.pop("risk_new_location")  # An unticked box, as the application policy has it.
    response = staff_client.post(admin_url(TenantPolicy, "add"), data)
    assert response.status_code == 302

    services.update_policy(
        by_service.membership.organization,
        requirement=Requirement.RISK_BASED,
        allowed_factors=["SMS", "TOTP"],
        trusted_device_days=14,
    )

    admin_saved = TenantPolicy.objects.get(tenant=by_admin.membership.organization)
    service_saved = TenantPolicy.objects.get(tenant=by_service.membership.organization)
    assert stored(service_saved) == stored(admin_saved)
    assert service_saved.override == admin_saved.override is True
    mine, theirs = policy_for(by_service), policy_for(by_admin)
    assert {n: getattr(mine, n) for n in POLICY_FIELDS} == {
        n: getattr(theirs, n) for n in POLICY_FIELDS
    }


def test_override_off_keeps_the_values_but_not_in_force(member):
    tenant = member.membership.organization
    services.update_policy(tenant, requirement=Requirement.REQUIRED)
    assert policy_for(member).required

    policy = services.update_policy(tenant, override=False)

    assert policy.override is False
    assert stored(policy)["requirement"] == Requirement.REQUIRED
    assert not policy_for(member).required and policy_for(member).source == "application"
    # Changing a value while saying override=False keeps it off.
    services.update_policy(tenant, override=False, grace_period_days=9)
    assert not TenantPolicy.objects.get(tenant=tenant).override
    assert policy_for(member).grace_period_days == 0
    # And override alone turns it back on, with the values kept.
    services.update_policy(tenant, override=True)
    assert policy_for(member).required and policy_for(member).grace_period_days == 9


def test_a_tenant_policy_out_of_force_may_allow_no_factor(member):
    tenant = member.membership.organization
    services.update_policy(tenant, override=False, allowed_factors=[])
    with pytest.raises(ValidationError):
        services.update_policy(tenant, override=True)
    assert not TenantPolicy.objects.get(tenant=tenant).override


def test_a_bad_tenant_value_creates_no_tenant_policy(member):
    with pytest.raises(ValidationError):
        services.update_policy(member.membership.organization, recovery_codes_count=99)
    assert not TenantPolicy.objects.exists()


def test_get_policy(member):
    tenant = member.membership.organization
    assert services.get_policy() == ApplicationPolicy.load()
    assert services.get_policy(tenant) is None
    created = TenantPolicyFactory(tenant=tenant)
    assert services.get_policy(tenant) == created


def test_explain_policy_names_where_each_setting_comes_from(app_policy, member):
    plain = UserFactory()
    explained = services.explain_policy(plain)
    assert explained.tenant is None
    assert set(explained.sources.values()) == {services.APPLICATION}

    TenantPolicyFactory(tenant=member.membership.organization, issuer="Acme")
    explained = services.explain_policy(member)
    assert explained.tenant == member.membership.organization
    assert explained.policy.issuer == "Acme"
    assert set(explained.sources.values()) == {services.TENANT}


def test_explain_policy_shows_the_staff_rule(app_policy):
    services.update_policy(requirement=Requirement.DISABLED, allowed_factors=[])
    explained = services.explain_policy(StaffFactory())
    assert explained.policy.required and explained.policy.staff_rule
    assert explained.source_of("requirement") == services.STAFF_RULE
    assert explained.source_of("allowed_factors") == services.STAFF_RULE
    assert explained.source_of("issuer") == services.APPLICATION
