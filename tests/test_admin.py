"""The Django admin: policies, each user's MFA status and reset, and the read-only audit log."""

import re

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfa_app import events, services
from mfa_app.admin import MFAUserAdminMixin, extend_user_admin
from mfa_app.models import (
    ApplicationPolicy,
    Challenge,
    MFAEvent,
    RecoveryCode,
    RecoveryCodeSet,
    Requirement,
    TenantPolicy,
    TOTPFactor,
)
from mfa_app.policy import policy_for

from .conftest import sign_in_with_mfa
from .factories import (
    MembershipFactory,
    StaffFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    UserFactory,
)

User = get_user_model()
USER_OPTS = User._meta


def admin_url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def policy_form(**overrides) -> dict:
    data = {
        "requirement": Requirement.OPTIONAL,
        "allowed_factors": ["TOTP", "WEBAUTHN"],
        "recovery_codes_enabled": "on",
        "recovery_codes_count": "10",
        "issuer": "",
        "grace_period_days": "0",
        "trusted_devices_enabled": "on",
        "trusted_device_days": "30",
        "risk_new_device": "on",
        "risk_new_location": "on",
        "risk_suspicious_ip": "on",
        "risk_password_changed": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def row_of(html: str, text: str) -> str:
    """The changelist row (``<tr>…</tr>``) that mentions ``text``."""
    rows = [row for row in html.split("<tr") if text in row]
    assert len(rows) == 1, f"expected one row with {text!r}, found {len(rows)}"
    return rows[0]


def cell(html: str, field: str) -> str:
    match = re.search(rf'class="[^"]*field-{field}[^"]*"[^>]*>(.*?)</(td|div)>', html, re.S)
    assert match, f"no {field} cell"
    return match.group(1).strip()


def readonly(html: str, field: str) -> str:
    """The value of a read-only field on a change page."""
    match = re.search(rf'field-{field}".*?<div class="readonly">(.*?)</div>', html, re.S)
    assert match, f"no read-only {field}"
    return match.group(1).strip()


def shown_bool(html: str) -> bool:
    return 'alt="True"' in html


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    # Staff are always under REQUIRED: the admin opens only after MFA.
    sign_in_with_mfa(client, staff)
    return client


@pytest.fixture
def enrolled(db):
    """A user with an authenticator app and a fresh set of recovery codes."""
    device = TOTPFactorFactory(name="Work phone")
    services.recovery_codes_after_enrollment(device.user)
    return device


# --- application policy ---------------------------------------------------------------------


def test_the_application_policy_list_goes_straight_to_its_change_page(staff_client):
    response = staff_client.get(admin_url(ApplicationPolicy, "changelist"))
    assert response.status_code == 302
    assert response["Location"] == admin_url(ApplicationPolicy, "change", 1)
    assert staff_client.get(response["Location"]).status_code == 200


def test_the_application_policy_cannot_be_added_or_deleted(staff_client):
    assert staff_client.get(admin_url(ApplicationPolicy, "add")).status_code == 403
    assert staff_client.post(admin_url(ApplicationPolicy, "add"), policy_form()).status_code == 403
    assert staff_client.get(admin_url(ApplicationPolicy, "delete", 1)).status_code == 403
    assert staff_client.post(admin_url(ApplicationPolicy, "delete", 1)).status_code == 403
    assert ApplicationPolicy.objects.count() == 1


def test_the_change_page_shows_each_factor_as_a_checkbox(staff_client):
    html = staff_client.get(admin_url(ApplicationPolicy, "change", 1)).content.decode()
    for value in ("TOTP", "WEBAUTHN", "SMS", "EMAIL"):
        assert f'type="checkbox" name="allowed_factors" value="{value}"' in html
    assert re.search(r'value="TOTP"[^>]*checked', html)
    assert not re.search(r'value="SMS"[^>]*checked', html)


def test_the_trusted_devices_setting_says_a_remembered_browser_is_at_most_aal1(staff_client):
    """TD-01: the admin who turns remembered devices on is told what they are worth."""
    html = staff_client.get(admin_url(ApplicationPolicy, "change", 1)).content.decode()
    assert "counts as at most AAL1" in html
    assert "MFA_TRUSTED_DEVICES_FOR_STAFF" in html


def test_editing_the_application_policy_changes_the_effective_policy(staff_client, user):
    data = policy_form(
        requirement=Requirement.REQUIRED,
        allowed_factors=["SMS", "TOTP"],
        recovery_codes_enabled=None,
        recovery_codes_count="5",
        issuer="Acme",
    )
    response = staff_client.post(admin_url(ApplicationPolicy, "change", 1), data)
    assert response.status_code == 302
    policy = policy_for(user)
    assert policy.required
    assert policy.allowed_factors == {"TOTP", "SMS"}
    assert not policy.recovery_codes_enabled
    assert policy.recovery_codes_count == 5
    assert policy.issuer == "Acme"
    # Stored in the choices' order, whatever order the browser sent.
    assert ApplicationPolicy.load().allowed_factors == ["TOTP", "SMS"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recovery_codes_count", "0"),
        ("recovery_codes_count", "21"),
        ("recovery_codes_count", "ten"),
        ("allowed_factors", ["TOTP", "CARRIER_PIGEON"]),
        ("requirement", "SOMETIMES"),
    ],
)
def test_invalid_values_are_form_errors_and_change_nothing(staff_client, user, field, value):
    before = policy_for(user)
    data = policy_form(**{"requirement": Requirement.REQUIRED, "issuer": "Changed", field: value})
    response = staff_client.post(admin_url(ApplicationPolicy, "change", 1), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert policy_for(user) == before


def test_an_enforced_policy_must_allow_at_least_one_factor(staff_client, user):
    data = policy_form(requirement=Requirement.REQUIRED, allowed_factors=None)
    response = staff_client.post(admin_url(ApplicationPolicy, "change", 1), data)
    assert "allowed_factors" in response.context["adminform"].form.errors
    assert not policy_for(user).required
    data = policy_form(requirement=Requirement.DISABLED, allowed_factors=None)
    assert staff_client.post(admin_url(ApplicationPolicy, "change", 1), data).status_code == 302
    assert policy_for(user).disabled


# --- tenant policies ------------------------------------------------------------------------


@pytest.fixture
def member(db):
    return MembershipFactory().user


def test_the_override_toggle_decides_whose_policy_a_member_follows(staff_client, member, user):
    tenant_policy = TenantPolicyFactory(tenant=member.membership.organization, override=False)
    url = admin_url(TenantPolicy, "change", tenant_policy.pk)
    data = policy_form(requirement=Requirement.REQUIRED, allowed_factors=["TOTP"])

    assert staff_client.post(url, {**data, "override": "on"}).status_code == 302
    policy = policy_for(member)
    assert policy.source == "tenant" and policy.required and policy.allowed_factors == {"TOTP"}
    assert policy_for(user).source == "application"

    assert staff_client.post(url, data).status_code == 302
    assert policy_for(member).source == "application"
    assert not policy_for(member).required


def test_a_new_tenant_policy_starts_from_the_application_policy(staff_client, member, app_policy):
    app_policy.issuer = "Acme"
    app_policy.recovery_codes_count = 7
    app_policy.save()
    response = staff_client.get(admin_url(TenantPolicy, "add"))
    form = response.context["adminform"].form
    assert form.initial["issuer"] == "Acme"
    assert form.initial["recovery_codes_count"] == 7

    tenant = member.membership.organization
    data = policy_form(tenant=tenant.pk, override="on", requirement=Requirement.DISABLED)
    assert staff_client.post(admin_url(TenantPolicy, "add"), data).status_code == 302
    assert TenantPolicy.objects.get(tenant=tenant).override
    assert policy_for(member).disabled


def test_a_tenant_policy_that_does_not_override_may_leave_factors_empty(staff_client, member):
    tenant = member.membership.organization
    data = policy_form(tenant=tenant.pk, requirement=Requirement.REQUIRED, allowed_factors=None)
    assert staff_client.post(admin_url(TenantPolicy, "add"), data).status_code == 302
    response = staff_client.post(admin_url(TenantPolicy, "add"), {**data, "override": "on"})
    assert "allowed_factors" in response.context["adminform"].form.errors


def test_the_tenant_policy_pages_show_the_tenant_and_explain_the_toggle(staff_client):
    tenant_policy = TenantPolicyFactory(requirement=Requirement.REQUIRED)
    html = staff_client.get(admin_url(TenantPolicy, "changelist")).content.decode()
    row = row_of(html, str(tenant_policy.tenant))
    assert shown_bool(cell(row, "override"))
    assert "Required" in cell(row, "requirement")
    html = staff_client.get(admin_url(TenantPolicy, "change", tenant_policy.pk)).content.decode()
    assert "On: this tenant's users follow the values below. Off: the application policy." in html
    assert 'type="checkbox" name="allowed_factors"' in html


# --- users ----------------------------------------------------------------------------------


def test_the_registered_user_admin_has_the_mfa_mixin():
    model_admin = admin.site.get_model_admin(User)
    assert isinstance(model_admin, MFAUserAdminMixin)
    extend_user_admin()  # a second call changes nothing
    assert admin.site.get_model_admin(User) is model_admin


def test_extending_keeps_the_sites_own_user_admin():
    class SiteUserAdmin(admin.ModelAdmin):
        list_display = ["pk", "is_staff"]

    site = admin.AdminSite(name="elsewhere")
    site.register(User, SiteUserAdmin)
    extend_user_admin(site)
    extended = site.get_model_admin(User)
    assert isinstance(extended, SiteUserAdmin) and isinstance(extended, MFAUserAdminMixin)
    assert extended.list_display == ["pk", "is_staff"]
    extend_user_admin(admin.AdminSite(name="empty"))  # no user admin there: nothing to do


def test_the_user_list_shows_each_users_mfa_status(staff_client, enrolled, user):
    html = staff_client.get(admin_url(User, "changelist")).content.decode()
    for header in ("MFA enabled", "Factor count", "Recovery codes remaining"):
        assert header in html
    row = row_of(html, enrolled.user.get_username())
    assert shown_bool(cell(row, "mfa_enabled"))
    assert cell(row, "mfa_factor_count") == "1"
    assert cell(row, "mfa_recovery_codes_remaining") == "10"
    row = row_of(html, user.get_username())
    assert not shown_bool(cell(row, "mfa_enabled"))
    assert cell(row, "mfa_factor_count") == "0"
    assert cell(row, "mfa_recovery_codes_remaining") == "0"


def test_the_user_list_agrees_with_mfa_status_under_every_policy(staff_client, app_policy):
    """The list computes status from annotations; it must say what services.mfa_status says."""
    plain = TOTPFactorFactory().user
    with_codes = TOTPFactorFactory().user
    services.recovery_codes_after_enrollment(with_codes)
    RecoveryCode.objects.filter(code_set__user=with_codes).first().delete()
    unconfirmed = TOTPFactorFactory(confirmed=False).user
    member = MembershipFactory(user=TOTPFactorFactory().user).user
    TenantPolicyFactory(tenant=member.membership.organization, allowed_factors=["SMS"])
    for requirement, factors in [("OPTIONAL", ["TOTP"]), ("DISABLED", ["TOTP"]), ("REQUIRED", [])]:
        app_policy.requirement, app_policy.allowed_factors = requirement, factors
        app_policy.save()
        html = staff_client.get(admin_url(User, "changelist")).content.decode()
        for person in (plain, with_codes, unconfirmed, member):
            status = services.mfa_status(person)
            row = row_of(html, person.get_username())
            assert shown_bool(cell(row, "mfa_enabled")) == status.enabled, (requirement, person)
            assert cell(row, "mfa_factor_count") == str(len(status.factors))
            assert cell(row, "mfa_recovery_codes_remaining") == str(status.recovery_codes_remaining)


def test_the_user_list_does_not_query_once_per_row(staff_client):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(admin_url(User, "changelist")).status_code == 200
        return len(queries)

    for _ in range(2):
        services.recovery_codes_after_enrollment(TOTPFactorFactory().user)
    few = queries_for_list()
    for _ in range(8):
        services.recovery_codes_after_enrollment(TOTPFactorFactory().user)
        MembershipFactory()
    assert queries_for_list() == few


def test_the_user_page_shows_mfa_status_and_factors_but_no_secret(staff_client, enrolled):
    user = enrolled.user
    html = staff_client.get(admin_url(User, "change", user.pk)).content.decode()
    assert "Multi-factor authentication" in html
    assert shown_bool(readonly(html, "mfa_enabled"))
    assert readonly(html, "mfa_factor_count") == "1"
    assert readonly(html, "mfa_recovery_codes_remaining") == "10"
    factors = re.search(r"field-mfa_factors.*?</table>", html, re.S).group(0)
    assert "Authenticator app" in factors and "Work phone" in factors
    assert enrolled.key not in html and enrolled.key.lower() not in html
    code_set = RecoveryCodeSet.objects.get(user=user)
    assert code_set.salt not in html
    for digest in RecoveryCode.objects.values_list("digest", flat=True):
        assert digest not in html


def test_the_user_page_of_a_user_without_factors(staff_client, user):
    html = staff_client.get(admin_url(User, "change", user.pk)).content.decode()
    assert not shown_bool(readonly(html, "mfa_enabled"))
    assert readonly(html, "mfa_factors") == "None"


def test_the_user_page_still_saves(staff_client, enrolled):
    url = admin_url(User, "change", enrolled.user.pk)
    form = staff_client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, forms.MultiWidget):
            parts = field.widget.decompress(value)
            data.update({f"{name}_{i}": part for i, part in enumerate(parts) if part is not None})
        elif value not in (None, False):
            data[name] = value
    assert staff_client.post(url, data).status_code == 302
    assert TOTPFactor.objects.filter(user=enrolled.user).exists()


def test_the_user_list_sorts_by_recovery_codes_and_still_deletes(staff_client, enrolled, user):
    changelist = admin_url(User, "changelist")
    columns = staff_client.get(changelist).context["cl"].list_display
    column = columns.index("mfa_recovery_codes_remaining")
    response = staff_client.get(changelist, {"o": f"-{column}"})
    assert response.context["cl"].result_list[0] == enrolled.user
    data = {"action": "delete_selected", "_selected_action": [str(user.pk)], "post": "yes"}
    assert staff_client.post(changelist, data).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


def test_reset_mfa_removes_factors_and_codes_and_is_audited(staff_client, staff, enrolled):
    user = enrolled.user
    bystander = TOTPFactorFactory().user
    services.start_challenge(user)
    response = staff_client.post(
        admin_url(User, "changelist"),
        {"action": "mfa_reset", "_selected_action": [str(user.pk)], "mfa_reset_confirm": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Removed the factors and recovery codes of 1 user." in response.content.decode()
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert not RecoveryCodeSet.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(code_set__user=user).exists()
    assert not Challenge.objects.filter(user=user).exists()
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.RESET)
    assert event.user == user
    assert event.actor == staff.get_username()
    assert event.ip_address == "127.0.0.1"
    assert TOTPFactor.objects.filter(user=bystander).exists()
    assert not services.mfa_status(user).enabled


def reset_confirmation(staff_client, *users):
    """The action's first POST, as the changelist sends it: the confirmation page."""
    return staff_client.post(
        admin_url(User, "changelist"),
        {"action": "mfa_reset", "_selected_action": [str(u.pk) for u in users]},
    )


def test_reset_mfa_first_asks_and_lists_what_each_user_loses(staff_client, enrolled):
    user = enrolled.user
    other = TOTPFactorFactory(name="Tablet").user
    services.start_challenge(user)
    page = reset_confirmation(staff_client, user, other)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Are you sure you want to reset the MFA of these 2 users?" in html
    assert f"Authenticator app: {enrolled.name}" in html and "Authenticator app: Tablet" in html
    assert "10 unused recovery codes" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="mfa_reset_confirm" value="yes"' in html
    assert html.count('name="_selected_action"') == 2
    assert "No, take me back" in html
    # Nothing happened yet.
    assert TOTPFactor.objects.filter(user__in=[user, other]).count() == 2
    assert RecoveryCode.objects.filter(code_set__user=user).count() == 10
    assert Challenge.objects.filter(user=user).exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.RESET).exists()


def test_confirming_the_reset_resets_only_the_listed_users(staff_client, staff, enrolled):
    user, bystander = enrolled.user, TOTPFactorFactory().user
    page = reset_confirmation(staff_client, user)
    form = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode())
    )
    response = staff_client.post(admin_url(User, "changelist"), form, follow=True)
    assert "Removed the factors and recovery codes of 1 user." in response.content.decode()
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert TOTPFactor.objects.filter(user=bystander).exists()
    assert MFAEvent.objects.get(kind=MFAEvent.Kind.RESET).actor == staff.get_username()


def test_reset_mfa_needs_the_change_permission(client, enrolled):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(
            content_type__app_label=USER_OPTS.app_label, codename=f"view_{USER_OPTS.model_name}"
        )
    )
    sign_in_with_mfa(client, viewer)
    response = client.get(admin_url(User, "changelist"))
    assert response.status_code == 200
    assert "mfa_reset" not in response.content.decode()
    client.post(
        admin_url(User, "changelist"),
        {
            "action": "mfa_reset",
            "_selected_action": [str(enrolled.user.pk)],
            "mfa_reset_confirm": "yes",
        },
    )
    assert TOTPFactor.objects.filter(user=enrolled.user).exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.RESET).exists()


def test_the_factor_models_are_not_in_the_admin():
    # Their rows hold secrets (TOTP key, recovery salt and digests); the user page lists them.
    for model in (TOTPFactor, RecoveryCodeSet, RecoveryCode, Challenge):
        assert not admin.site.is_registered(model)


# --- audit log ------------------------------------------------------------------------------


@pytest.fixture
def event(db, enrolled):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    return events.record(MFAEvent.Kind.FAILED, enrolled.user, request, factor_type="TOTP")


def test_the_audit_log_lists_events(staff_client, event):
    html = staff_client.get(admin_url(MFAEvent, "changelist")).content.decode()
    row = row_of(html, "203.0.113.9")
    assert event.username in cell(row, "username")
    assert "Wrong code" in cell(row, "kind")
    assert "TOTP" in cell(row, "factor_type")


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"q": "203.0.113"}, True),
        ({"q": "198.51.100.1"}, False),
        ({"kind__exact": "failed"}, True),
        ({"kind__exact": "reset"}, False),
        ({"factor_type": "TOTP"}, True),
    ],
)
def test_the_audit_log_searches_and_filters(staff_client, event, query, found):
    response = staff_client.get(admin_url(MFAEvent, "changelist"), query)
    assert response.status_code == 200
    assert (event in response.context["cl"].result_list) is found


def test_the_audit_log_can_be_read_but_not_written(staff_client, event):
    change = admin_url(MFAEvent, "change", event.pk)
    assert staff_client.get(change).status_code == 200
    assert staff_client.get(admin_url(MFAEvent, "add")).status_code == 403
    assert staff_client.post(admin_url(MFAEvent, "add"), {"kind": "reset"}).status_code == 403
    assert staff_client.post(change, {"kind": "reset", "username": "x"}).status_code == 403
    assert staff_client.get(admin_url(MFAEvent, "delete", event.pk)).status_code == 403
    assert staff_client.post(admin_url(MFAEvent, "delete", event.pk)).status_code == 403
    response = staff_client.post(
        admin_url(MFAEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    event.refresh_from_db()
    assert event.kind == MFAEvent.Kind.FAILED
