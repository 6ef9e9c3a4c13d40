"""The admin's side of the policy engine: policy fields, a user's effective policy and
decisions, remembered devices, and staff-granted bypasses, as a staff member uses them."""

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from mfa_app import events, services
from mfa_app.models import (
    ApplicationPolicy,
    MFAEvent,
    Requirement,
    TenantPolicy,
    TOTPFactor,
    TrustedDevice,
    UserState,
)
from mfa_app.policy import policy_for

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import (
    MembershipFactory,
    StaffFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)
from .test_admin import admin_url, policy_form, readonly

User = get_user_model()
USER_OPTS = User._meta
HOSTILE_AGENT = '<script>alert("ua")</script> Firefox/128'


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    sign_in_with_mfa(client, staff)
    return client


@pytest.fixture
def totp_user(db):
    return TOTPFactorFactory().user


@pytest.fixture
def viewer_client(db):
    """A staff member who may view users but not change them."""
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(
            content_type__app_label=USER_OPTS.app_label, codename=f"view_{USER_OPTS.model_name}"
        )
    )
    client = Client()
    sign_in_with_mfa(client, viewer)
    return client


def user_page(client, user) -> str:
    response = client.get(admin_url(User, "change", user.pk))
    assert response.status_code == 200
    return response.content.decode()


def table_rows(page: str, field: str) -> list[list[str]]:
    """The body rows of the table in a read-only field, each cell unescaped."""
    body = re.search(r"<tbody>(.*?)</tbody>", readonly(page, field), re.S)
    if body is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in rows]


def policy_rows(page: str) -> dict[str, tuple[str, str]]:
    return {label: (value, source) for label, value, source in table_rows(page, "mfa_policy")}


def remember(user, agent: str = "Firefox/128", ip: str = "198.51.100.7") -> TrustedDevice:
    request = RequestFactory().get("/", HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    return services.remember_device(user, request)


def run_action(client, action: str, users, **data):
    selected = [str(u.pk) for u in users]
    payload = {"action": action, "_selected_action": selected, **data}
    return client.post(admin_url(User, "changelist"), payload, follow=True)


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def sign_out(browser: Client) -> None:
    """End the session but keep the browser's other cookies (``Client.logout`` drops them all)."""
    browser.cookies.pop(settings.SESSION_COOKIE_NAME, None)
    assert not is_logged_in(browser)


def local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def grant(client, users, until=None, reason="Lost phone; identity checked by video call"):
    until = until or timezone.now() + timedelta(days=1)
    return run_action(
        client,
        "mfa_grant_bypass",
        users,
        mfa_bypass_confirm="yes",
        until=local_input(until),
        reason=reason,
    )


# --- policy admin ---------------------------------------------------------------------------


def test_the_policy_page_has_the_new_sections_and_explains_risk_based(staff_client):
    page = staff_client.get(admin_url(ApplicationPolicy, "change", 1)).content.decode()
    for title in ("Grace period", "Trusted devices", "Risk triggers (RISK_BASED)"):
        assert f">{title}</h2>" in page
    for name in ("grace_period_days", "trusted_devices_enabled", "trusted_device_days"):
        assert f'name="{name}"' in page
    for trigger in ("new_device", "new_location", "suspicious_ip", "password_changed"):
        assert f'name="risk_{trigger}"' in page
    assert "Risk-based: a sign-in is challenged only when a risk trigger below fires" in page


def test_saving_the_new_fields_changes_the_effective_policy(staff_client, user):
    data = policy_form(
        requirement=Requirement.RISK_BASED,
        grace_period_days="7",
        trusted_devices_enabled=None,
        trusted_device_days="90",
        risk_new_location=None,
        risk_suspicious_ip=None,
    )
    assert staff_client.post(admin_url(ApplicationPolicy, "change", 1), data).status_code == 302
    policy = policy_for(user)
    assert policy.risk_based and policy.grace_period_days == 7
    assert not policy.trusted_devices_enabled and policy.trusted_device_days == 90
    assert policy.risk_new_device and policy.risk_password_changed
    assert not policy.risk_new_location and not policy.risk_suspicious_ip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trusted_device_days", "0"),
        ("trusted_device_days", "366"),
        ("grace_period_days", "-1"),
        ("grace_period_days", "366"),
        ("grace_period_days", "soon"),
    ],
)
def test_out_of_range_days_are_form_errors_and_save_nothing(staff_client, user, field, value):
    before = policy_for(user)
    data = policy_form(requirement=Requirement.REQUIRED, issuer="Changed", **{field: value})
    response = staff_client.post(admin_url(ApplicationPolicy, "change", 1), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert policy_for(user) == before


def test_the_edges_of_the_day_ranges_are_accepted(staff_client, user):
    data = policy_form(grace_period_days="365", trusted_device_days="1")
    assert staff_client.post(admin_url(ApplicationPolicy, "change", 1), data).status_code == 302
    data = policy_form(grace_period_days="0", trusted_device_days="365")
    assert staff_client.post(admin_url(ApplicationPolicy, "change", 1), data).status_code == 302
    assert policy_for(user).trusted_device_days == 365


def test_a_tenant_policy_has_the_new_fields_starting_from_the_application(staff_client, app_policy):
    app_policy.grace_period_days, app_policy.risk_new_device = 5, False
    app_policy.save()
    response = staff_client.get(admin_url(TenantPolicy, "add"))
    form = response.context["adminform"].form
    assert form.initial["grace_period_days"] == 5
    assert form.initial["risk_new_device"] is False
    assert "Risk triggers (RISK_BASED)" in response.content.decode()

    member = MembershipFactory().user
    data = policy_form(tenant=member.membership.organization.pk, override="on")
    response = staff_client.post(
        admin_url(TenantPolicy, "add"), {**data, "trusted_device_days": "0"}
    )
    assert "trusted_device_days" in response.context["adminform"].form.errors
    assert not TenantPolicy.objects.exists()


# --- the user page: effective policy --------------------------------------------------------


def test_the_user_page_shows_the_application_policy_as_the_source(staff_client, user, app_policy):
    app_policy.grace_period_days = 3
    app_policy.save()
    rows = policy_rows(user_page(staff_client, user))
    assert rows["Requirement"] == ("Optional: users may enroll themselves", "application policy")
    assert (
        rows["Allowed factors"][0] == "Authenticator app (TOTP), Security key or passkey (WebAuthn)"
    )
    assert rows["Grace period (days)"] == ("3", "application policy")
    assert rows["Issuer"][0] == "(the site's name)"
    assert rows["Risk trigger: New device"] == ("Yes", "application policy")
    assert len(rows) == 12
    assert {source for _value, source in rows.values()} == {"application policy"}


def test_the_user_page_names_the_tenant_whose_policy_overrides(staff_client, user):
    member = MembershipFactory().user
    tenant = member.membership.organization
    tenant.name = "Acme & <Sons>"
    tenant.save()
    TenantPolicyFactory(
        tenant=tenant,
        override=True,
        requirement=Requirement.RISK_BASED,
        allowed_factors=["TOTP"],
        trusted_devices_enabled=False,
        issuer="Acme",
    )
    page = user_page(staff_client, member)
    assert "Acme &amp; &lt;Sons&gt;" in page and "<Sons>" not in page
    rows = policy_rows(page)
    source = "tenant policy: Acme & <Sons>"
    assert rows["Requirement"] == ("Risk-based: a challenge only when a risk trigger fires", source)
    assert rows["Allowed factors"] == ("Authenticator app (TOTP)", source)
    assert rows["Trusted devices"] == ("No", source)
    assert rows["Issuer"] == ("Acme", source)
    # A user outside the tenant still follows the application policy.
    assert policy_rows(user_page(staff_client, user))["Issuer"][1] == "application policy"


def test_a_tenant_policy_that_does_not_override_is_not_the_source(staff_client):
    member = MembershipFactory().user
    TenantPolicyFactory(tenant=member.membership.organization, override=False, issuer="Acme")
    rows = policy_rows(user_page(staff_client, member))
    assert rows["Issuer"] == ("(the site's name)", "application policy")


def test_the_staff_rule_is_the_source_of_a_staff_members_requirement(staff_client, app_policy):
    app_policy.requirement, app_policy.allowed_factors = Requirement.DISABLED, []
    app_policy.save()
    colleague = StaffFactory()
    rows = policy_rows(user_page(staff_client, colleague))
    assert rows["Requirement"] == ("Required: every user must enroll", "staff rule")
    # The rule also gives a staff member factors to use when the policy allows none.
    assert rows["Allowed factors"][1] == "staff rule"
    assert rows["Issuer"][1] == "application policy"
    # TD-01: no remembered browser skips a staff member's challenge.
    assert rows["Trusted devices"][1] == "staff rule"


# --- the user page: decisions ---------------------------------------------------------------


def test_the_decisions_show_the_reasons_of_a_real_login(staff_client, totp_user):
    password_login(Client(), totp_user)
    rows = table_rows(user_page(staff_client, totp_user), "mfa_decisions")
    assert len(rows) == 1
    _time, outcome, reasons, ip = rows[0]
    assert (outcome, reasons, ip) == ("Challenge", "has a factor", "127.0.0.1")


def test_the_decisions_label_known_reasons_and_escape_unknown_ones(staff_client, user):
    for _ in range(11):
        events.record(MFAEvent.Kind.DECISION, user, outcome="none", reasons=["no_factor"])
    events.record(
        MFAEvent.Kind.DECISION,
        user,
        outcome="challenge",
        reasons=["staff_rule", "new_device", "<b>geo_velocity</b>"],
    )
    page = user_page(staff_client, user)
    rows = table_rows(page, "mfa_decisions")
    assert len(rows) == 10
    assert rows[0][1:3] == [
        "Challenge",
        "staff: MFA always required; new device; <b>geo_velocity</b>",
    ]
    assert rows[1][1:3] == ["No MFA needed", "no factor, MFA optional"]
    assert "&lt;b&gt;geo_velocity&lt;/b&gt;" in page and "<b>geo_velocity" not in page


def test_a_user_without_decisions_or_devices_or_bypass(staff_client, user):
    page = user_page(staff_client, user)
    for field in ("mfa_decisions", "mfa_trusted_devices", "mfa_bypass"):
        assert readonly(page, field) == "None"
    for title in ("Effective MFA policy", "Remembered devices", "Recent MFA sign-in decisions"):
        assert title in page


def test_an_audit_log_entry_summarises_its_decision(staff_client, user):
    event = events.record(MFAEvent.Kind.DECISION, user, outcome="enroll", reasons=["required"])
    page = staff_client.get(admin_url(MFAEvent, "change", event.pk)).content.decode()
    assert readonly(page, "summary") == "Asked to enroll: the policy requires MFA"


# --- remembered devices ---------------------------------------------------------------------


def test_the_user_page_lists_remembered_devices_escaped_and_without_digests(staff_client, user):
    device = remember(user, agent=HOSTILE_AGENT)
    expired = remember(user, agent="Old browser")
    TrustedDevice.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    page = user_page(staff_client, user)
    rows = table_rows(page, "mfa_trusted_devices")
    assert len(rows) == 1
    browser, ip, _created, _expires, last_used = rows[0]
    assert (browser, ip, last_used) == (HOSTILE_AGENT, "198.51.100.7", "—")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt;" in page
    assert device.token_digest not in page and "Old browser" not in page


def test_revoking_remembered_devices(staff_client, staff, user):
    remember(user)
    remember(user, agent="Chrome/126")
    bystander = UserFactory()
    remember(bystander)
    response = run_action(staff_client, "mfa_revoke_devices", [user])
    assert "Revoked 2 remembered devices of 1 user." in shown_messages(response)
    assert not services.trusted_devices(user).exists()
    assert services.trusted_devices(bystander).count() == 1
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.DEVICE_REVOKED)
    assert (event.user, event.actor, event.details["count"]) == (user, staff.get_username(), 2)
    assert readonly(user_page(staff_client, user), "mfa_trusted_devices") == "None"


def test_revoking_when_no_one_has_a_device_says_so(staff_client, user):
    response = run_action(staff_client, "mfa_revoke_devices", [user])
    assert "None of the selected users had a remembered device." in shown_messages(response)
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.DEVICE_REVOKED).exists()


def test_a_revoked_device_no_longer_skips_the_challenge(staff_client, totp_user):
    browser = Client()
    password_login(browser, totp_user)
    device = TOTPFactor.objects.get(user=totp_user)
    data = {"factor": "TOTP", "code": code_for(device), "remember": "1"}
    assert browser.post(reverse("mfa_app:challenge"), data).status_code == 302
    sign_out(browser)
    password_login(browser, totp_user)
    assert is_logged_in(browser)  # the remembered browser skips the challenge
    sign_out(browser)

    run_action(staff_client, "mfa_revoke_devices", [totp_user])
    password_login(browser, totp_user)
    assert not is_logged_in(browser)


# --- bypass ---------------------------------------------------------------------------------


def test_the_bypass_form_asks_until_when_and_why(staff_client, totp_user):
    before = timezone.now()
    response = run_action(staff_client, "mfa_grant_bypass", [totp_user])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Grant an MFA bypass" in page and str(totp_user) in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'type="datetime-local" name="until"' in page
    assert f'value="{totp_user.pk}"' in page
    initial = response.context["form"].fields["until"].initial
    assert before + timedelta(hours=23) < initial <= timezone.now() + timedelta(days=1)
    assert not UserState.objects.filter(bypass_until__isnull=False).exists()


@pytest.mark.parametrize(
    ("until", "reason", "field"),
    [
        (timedelta(days=1), "   ", "reason"),
        (timedelta(minutes=-5), "Lost phone", "until"),
        (timedelta(days=31), "Lost phone", "until"),
    ],
)
def test_an_invalid_bypass_is_a_form_error_and_grants_nothing(
    staff_client, totp_user, until, reason, field
):
    response = grant(staff_client, [totp_user], until=timezone.now() + until, reason=reason)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="errornote"' in response.content.decode()
    assert services.active_bypass(totp_user) is None
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.BYPASS_GRANTED).exists()


def test_granting_a_bypass_is_logged_and_shown(staff_client, staff, totp_user):
    until = timezone.now() + timedelta(days=2)
    response = grant(staff_client, [totp_user], until=until, reason="Lost <phone>")
    assert response.redirect_chain[-1][0] == admin_url(User, "changelist")
    assert any(m.startswith("Granted an MFA bypass until ") for m in shown_messages(response))
    assert any(m.endswith(" to 1 user.") for m in shown_messages(response))
    state = services.active_bypass(totp_user)
    assert state.bypass_until == until.replace(second=0, microsecond=0)
    assert (state.bypass_reason, state.bypass_granted_by) == ("Lost <phone>", staff.get_username())
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.BYPASS_GRANTED)
    assert (event.user, event.actor, event.details["reason"]) == (
        totp_user,
        staff.get_username(),
        "Lost <phone>",
    )

    history = LogEntry.objects.get(object_id=str(totp_user.pk))
    assert history.get_change_message().startswith("Granted an MFA bypass until ")

    page = user_page(staff_client, totp_user)
    [(_until, reason, granted_by)] = table_rows(page, "mfa_bypass")
    assert (reason, granted_by) == ("Lost <phone>", staff.get_username())
    assert "Lost &lt;phone&gt;" in page
    logged = staff_client.get(admin_url(MFAEvent, "change", event.pk)).content.decode()
    assert readonly(logged, "summary").endswith(": Lost &lt;phone&gt;")


def test_a_bypass_lets_the_user_sign_in_without_a_challenge_until_the_date(staff_client, totp_user):
    until = timezone.now() + timedelta(days=1)
    grant(staff_client, [totp_user], until=until)
    cutoff = services.active_bypass(totp_user).bypass_until
    with time_machine.travel(cutoff - timedelta(minutes=1), tick=False):
        browser = Client()
        password_login(browser, totp_user)
        assert is_logged_in(browser)
    with time_machine.travel(cutoff + timedelta(minutes=1), tick=False):
        browser = Client()
        password_login(browser, totp_user)
        assert not is_logged_in(browser)
    decisions = MFAEvent.objects.filter(kind="decision", user=totp_user).order_by("created_at")
    assert [e.details["reasons"] for e in decisions] == [["bypass"], ["factor_enrolled"]]


def test_the_decision_list_shows_a_bypassed_login(staff_client, totp_user):
    grant(staff_client, [totp_user])
    password_login(Client(), totp_user)
    rows = table_rows(user_page(staff_client, totp_user), "mfa_decisions")
    assert rows[0][1:3] == ["No MFA needed", "bypass granted by staff"]


def test_ending_a_bypass(staff_client, staff, totp_user, user):
    grant(staff_client, [totp_user])
    response = run_action(staff_client, "mfa_end_bypass", [totp_user, user])
    assert "Ended the MFA bypass of 1 user." in shown_messages(response)
    assert services.active_bypass(totp_user) is None
    event = MFAEvent.objects.get(kind=MFAEvent.Kind.BYPASS_ENDED)
    assert (event.user, event.actor) == (totp_user, staff.get_username())
    browser = Client()
    password_login(browser, totp_user)
    assert not is_logged_in(browser)
    response = run_action(staff_client, "mfa_end_bypass", [totp_user])
    assert "None of the selected users had an MFA bypass." in shown_messages(response)


# --- permissions ----------------------------------------------------------------------------


def test_a_view_only_staff_member_sees_but_cannot_revoke_or_grant(viewer_client, totp_user):
    remember(totp_user)
    page = viewer_client.get(admin_url(User, "changelist")).content.decode()
    for action in ("mfa_revoke_devices", "mfa_grant_bypass", "mfa_end_bypass"):
        assert action not in page
    assert len(table_rows(user_page(viewer_client, totp_user), "mfa_trusted_devices")) == 1

    run_action(viewer_client, "mfa_revoke_devices", [totp_user])
    response = grant(viewer_client, [totp_user])
    assert "Grant an MFA bypass" not in response.content.decode()
    assert services.trusted_devices(totp_user).count() == 1
    assert services.active_bypass(totp_user) is None
    services.grant_bypass(totp_user, timezone.now() + timedelta(hours=1), "test", actor=None)
    run_action(viewer_client, "mfa_end_bypass", [totp_user])
    assert services.active_bypass(totp_user) is not None
    kinds = {MFAEvent.Kind.DEVICE_REVOKED, MFAEvent.Kind.BYPASS_ENDED}
    assert not MFAEvent.objects.filter(kind__in=kinds).exists()
