"""The policy engine: remembered devices, grace period, RISK_BASED triggers, staff, exemptions."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.backends import ModelBackend
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mfa_app import services
from mfa_app.client_ip import client_ip
from mfa_app.models import MFAEvent, Requirement, TrustedDevice, UserState

from .conftest import is_logged_in, login_form, password_login
from .factories import (
    MembershipFactory,
    StaffFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)
from .test_api import pending_api
from .test_api_challenge import verify

CHALLENGE = reverse("mfa_app:challenge")
ENROLL = reverse("mfa_app:enroll")
SECURITY = reverse("mfa_app:security")
COOKIE = "mfa_device"


def later(**delta) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def last_decision(user) -> dict:
    return MFAEvent.objects.filter(user=user, kind="decision").latest("id").details


def sign_in(client, device, remember: bool = False, step: int = 0) -> None:
    """Password, then the app's code ``step`` periods from now (each code works once)."""
    password_login(client, device.user)
    data = {"factor": "TOTP", "code": code_for(device, step)}
    if remember:
        data["remember"] = "1"
    response = client.post(CHALLENGE, data)
    assert response.status_code == 302, response.content.decode()[:400]


def log_out(client) -> None:
    """Log out as the browser does (the test client's ``logout()`` would drop every cookie)."""
    client.post(reverse("logout"))
    assert not is_logged_in(client)


def login_data(user) -> dict:
    return login_form(user)


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


# --- remembered devices -------------------------------------------------------------------------


def test_the_challenge_offers_to_remember_the_device_for_the_policy_lifetime(
    client, device, app_policy
):
    app_policy.trusted_device_days = 14
    app_policy.save()
    password_login(client, device.user)
    assert "Remember this device for 14 days" in client.get(CHALLENGE).content.decode()
    app_policy.trusted_devices_enabled = False
    app_policy.save()
    assert "Remember this device" not in client.get(CHALLENGE).content.decode()


def test_a_remembered_browser_skips_the_challenge(client, device):
    sign_in(client, device, remember=True)
    cookie = client.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    stored = TrustedDevice.objects.get(user=device.user)
    assert cookie.value.split(":")[0] not in stored.token_digest  # only a keyed hash is kept
    assert stored.expires_at - stored.created_at == timedelta(days=30)
    log_out(client)
    password_login(client, device.user)
    assert is_logged_in(client)
    assert last_decision(device.user)["reasons"] == ["trusted_device"]
    assert TrustedDevice.objects.get(pk=stored.pk).last_used_at is not None


def remember_over_https(client, device) -> None:
    client.post(reverse("login"), login_data(device.user), secure=True)
    response = client.post(
        CHALLENGE, {"factor": "TOTP", "code": code_for(device), "remember": "1"}, secure=True
    )
    assert response.status_code == 302


def test_the_device_cookie_is_host_prefixed_and_secure_on_https(client, device):
    """TD-04: a ``__Host-`` cookie, which no subdomain and no plain-HTTP page can set."""
    remember_over_https(client, device)
    assert COOKIE not in client.cookies
    cookie = client.cookies[f"__Host-{COOKIE}"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]
    log_out(client)
    client.post(reverse("login"), login_data(device.user), secure=True)
    assert is_logged_in(client)
    assert last_decision(device.user)["reasons"] == ["trusted_device"]


def test_the_plain_name_is_not_read_on_https(client, device):
    """A cookie under the unprefixed name could come from a sibling subdomain: not trusted."""
    sign_in(client, device, remember=True)
    log_out(client)
    client.post(reverse("login"), login_data(device.user), secure=True)
    assert not is_logged_in(client)


def test_the_host_prefix_can_be_turned_off(client, device, settings):
    settings.MFA_DEVICE_COOKIE_HOST_PREFIX = False
    remember_over_https(client, device)
    assert f"__Host-{COOKIE}" not in client.cookies
    assert client.cookies[COOKIE]["secure"]
    log_out(client)
    client.post(reverse("login"), login_data(device.user), secure=True)
    assert is_logged_in(client)


def test_without_the_box_ticked_nothing_is_remembered(client, device):
    sign_in(client, device)
    assert not TrustedDevice.objects.exists()
    log_out(client)
    password_login(client, device.user)
    assert not is_logged_in(client)


def test_a_cookie_copied_to_another_users_login_is_ignored(client, device):
    sign_in(client, device, remember=True)
    other = TOTPFactorFactory()
    thief = Client()
    thief.cookies[COOKIE] = client.cookies[COOKIE].value
    password_login(thief, other.user)
    assert not is_logged_in(thief)


@pytest.mark.parametrize("value", ["garbage", "x" * 5000, "abc:def:ghi", ""])
def test_a_tampered_cookie_is_ignored(client, device, value):
    sign_in(client, device, remember=True)
    log_out(client)
    original = client.cookies[COOKIE].value
    token, _, signature = original.partition(":")
    # One character of the token changed (never to the same one), the signature kept.
    changed = "B" if token[-1] == "A" else "A"
    client.cookies[COOKIE] = value or f"{token[:-1]}{changed}:{signature}"
    password_login(client, device.user)
    assert not is_logged_in(client)


def test_an_expired_device_is_challenged_again(client, device):
    sign_in(client, device, remember=True)
    log_out(client)
    with later(days=30, seconds=1):
        password_login(client, device.user)
        assert not is_logged_in(client)


def test_forgetting_one_device_from_the_security_page(client, device):
    sign_in(client, device, remember=True)
    page = client.get(SECURITY).content.decode()
    assert "Remembered devices" in page and "this browser" in page
    stored = TrustedDevice.objects.get()
    client.post(reverse("mfa_app:revoke_devices"), {"device": stored.pk})
    assert TrustedDevice.objects.get().revoked_at is not None
    log_out(client)
    password_login(client, device.user)
    assert not is_logged_in(client)
    assert MFAEvent.objects.filter(user=device.user, kind="device_revoked").exists()


def test_someone_elses_device_cannot_be_forgotten(client, device):
    theirs = TOTPFactorFactory()
    other = Client()
    sign_in(other, theirs, remember=True)
    sign_in(client, device)
    response = client.post(
        reverse("mfa_app:revoke_devices"), {"device": TrustedDevice.objects.get().pk}
    )
    assert response.status_code == 404
    assert TrustedDevice.objects.get().revoked_at is None


def test_forget_all_devices(client, device):
    for step, browser in ((-1, Client()), (0, Client())):
        sign_in(browser, device, remember=True, step=step)
    sign_in(client, device, step=1)
    client.post(reverse("mfa_app:revoke_devices"))
    assert not services.trusted_devices(device.user).exists()


def test_a_password_change_forgets_every_device(client, device):
    sign_in(client, device, remember=True)
    device.user.set_password("another password 123")
    device.user.save()
    assert not services.trusted_devices(device.user).exists()


def test_a_staff_reset_forgets_every_device(client, device):
    sign_in(client, device, remember=True)
    services.reset_mfa(device.user)
    assert not services.trusted_devices(device.user).exists()


def test_devices_are_ignored_while_the_policy_turns_them_off(client, device, app_policy):
    sign_in(client, device, remember=True)
    log_out(client)
    app_policy.trusted_devices_enabled = False
    app_policy.save()
    password_login(client, device.user)
    assert not is_logged_in(client)


# --- grace period -------------------------------------------------------------------------------


@pytest.fixture
def required_with_grace(app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.grace_period_days = 3
    app_policy.save()
    return app_policy


def test_a_user_may_postpone_enrollment_within_the_grace_period(client, user, required_with_grace):
    password_login(client, user)
    page = client.get(ENROLL).content.decode()
    assert "Set up later (3 days left)" in page
    response = client.post(reverse("mfa_app:enroll_later"))
    assert response.status_code == 302
    assert is_logged_in(client)
    assert MFAEvent.objects.filter(user=user, kind="enrollment_postponed").exists()


def test_the_grace_period_counts_from_the_first_time_the_user_was_asked(
    client, user, required_with_grace
):
    password_login(client, user)
    client.post(reverse("mfa_app:enroll_later"))
    log_out(client)
    with later(days=2, hours=1):
        password_login(client, user)
        assert "Set up later (1 day left)" in client.get(ENROLL).content.decode()
    client.post(reverse("mfa_app:cancel"))
    with later(days=3):
        password_login(client, user)
        assert "Set up later" not in client.get(ENROLL).content.decode()
        response = client.post(reverse("mfa_app:enroll_later"))
        assert response["Location"] == ENROLL
        assert not is_logged_in(client)
        assert "can no longer be postponed" in client.get(ENROLL).content.decode()


def test_no_grace_period_no_postponing(client, user, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.save()
    password_login(client, user)
    assert "Set up later" not in client.get(ENROLL).content.decode()
    client.post(reverse("mfa_app:enroll_later"))
    assert not is_logged_in(client)


def test_a_signed_in_user_cannot_use_the_later_button(client, device, required_with_grace):
    sign_in(client, device)
    response = client.post(reverse("mfa_app:enroll_later"))
    assert response["Location"] == SECURITY


# --- RISK_BASED -------------------------------------------------------------------------------


@pytest.fixture
def risk_based(app_policy):
    app_policy.requirement = Requirement.RISK_BASED
    app_policy.save()
    return app_policy


def ip(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def test_a_first_sign_in_is_challenged_then_a_known_browser_and_network_is_not(
    client, device, risk_based
):
    client.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user) == {
        "outcome": "challenge",
        "reasons": ["new_device", "new_location"],
    }
    client.post(CHALLENGE, {"code": code_for(device)}, **ip("203.0.113.7"))
    assert is_logged_in(client)
    log_out(client)
    client.post(reverse("login"), login_data(device.user), **ip("203.0.113.99"))
    assert is_logged_in(client)
    assert last_decision(device.user) == {"outcome": "none", "reasons": ["no_risk"]}


@pytest.fixture
def known(client, device, risk_based):
    """The user signed in once from this browser, at 203.0.113.7."""
    client.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    client.post(CHALLENGE, {"code": code_for(device)}, **ip("203.0.113.7"))
    log_out(client)
    return client


def test_a_new_browser_is_challenged(known, device):
    fresh = Client()
    fresh.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert not is_logged_in(fresh)
    assert last_decision(device.user)["reasons"] == ["new_device"]


@pytest.mark.parametrize(
    ("address", "fires"),
    [("198.51.100.7", True), ("203.0.113.200", False), ("2001:db8:1::1", True)],
)
def test_a_new_network_is_challenged(known, device, address, fires):
    known.post(reverse("login"), login_data(device.user), **ip(address))
    assert is_logged_in(known) is not fires
    assert ("new_location" in last_decision(device.user)["reasons"]) is fires


def test_an_ipv6_network_is_its_slash_48(client, device, risk_based):
    client.post(reverse("login"), login_data(device.user), **ip("2001:db8:1:2::1"))
    client.post(CHALLENGE, {"code": code_for(device)}, **ip("2001:db8:1:2::1"))
    log_out(client)
    client.post(reverse("login"), login_data(device.user), **ip("2001:db8:1:ffff::9"))
    assert is_logged_in(client)


def test_a_network_unseen_for_90_days_is_new_again(known, device):
    with later(days=91):
        known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
        assert last_decision(device.user)["reasons"] == ["new_location"]


def test_an_ip_on_the_suspicious_list_is_challenged(known, device, settings):
    settings.MFA_SUSPICIOUS_NETWORKS = ["203.0.113.0/28"]
    known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user)["reasons"] == ["suspicious_ip"]


def flag_everything(ip_address: str) -> bool:
    return ip_address.startswith("203.")


def test_a_pluggable_ip_check(known, device, settings):
    settings.MFA_SUSPICIOUS_IP_CHECK = "tests.test_policy_engine.flag_everything"
    known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user)["reasons"] == ["suspicious_ip"]


def test_an_ip_with_many_recent_mfa_failures_is_suspicious(known, device, settings):
    settings.MFA_SUSPICIOUS_IP_FAILURES = 3
    victim = TOTPFactorFactory()
    attacker = Client()
    for _ in range(3):
        attacker.post(reverse("login"), login_data(victim.user), **ip("203.0.113.7"))
        attacker.post(CHALLENGE, {"code": "000000"}, **ip("203.0.113.7"))
    known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user)["reasons"] == ["suspicious_ip"]
    with later(hours=1, seconds=1):
        known.post(reverse("mfa_app:cancel"))
        known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
        assert is_logged_in(known)


def test_a_password_change_since_the_last_mfa_is_challenged(known, device):
    device.user.set_password("another password 123")
    device.user.save()
    known.post(
        reverse("login"),
        {**login_data(device.user), "password": "another password 123"},
        **ip("203.0.113.7"),
    )
    assert last_decision(device.user)["reasons"] == ["password_changed"]
    known.post(CHALLENGE, {"code": code_for(device, 1)}, **ip("203.0.113.7"))
    log_out(known)
    known.post(
        reverse("login"),
        {**login_data(device.user), "password": "another password 123"},
        **ip("203.0.113.7"),
    )
    assert is_logged_in(known)


@pytest.mark.parametrize("field", ["risk_new_device", "risk_new_location", "risk_suspicious_ip"])
def test_each_trigger_can_be_switched_off(client, device, risk_based, settings, field):
    settings.MFA_SUSPICIOUS_NETWORKS = ["203.0.113.0/24"]
    for name in ("risk_new_device", "risk_new_location", "risk_suspicious_ip"):
        setattr(risk_based, name, name != field)
    risk_based.save()
    client.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    reasons = last_decision(device.user)["reasons"]
    assert field.removeprefix("risk_") not in reasons
    assert len(reasons) == 2


def test_the_password_trigger_can_be_switched_off(known, device, risk_based):
    risk_based.risk_password_changed = False
    risk_based.save()
    device.user.set_password("another password 123")
    device.user.save()
    known.post(
        reverse("login"),
        {**login_data(device.user), "password": "another password 123"},
        **ip("203.0.113.7"),
    )
    assert is_logged_in(known)


def test_a_user_without_a_factor_must_enroll_when_a_trigger_fires(client, user, risk_based):
    client.post(reverse("login"), login_data(user), **ip("203.0.113.7"))
    assert last_decision(user)["outcome"] == "enroll"
    assert client.get(reverse("private"))["Location"] == ENROLL


def always_risky(context) -> str:
    return f"custom:{context.user.pk == context.user.pk}"


def test_evaluators_are_pluggable(known, device, settings):
    settings.MFA_RISK_EVALUATORS = ["tests.test_policy_engine.always_risky"]
    known.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user)["reasons"] == ["custom:True"]


def test_a_tenant_can_be_risk_based_alone(client, device, app_policy):
    membership = MembershipFactory(user=device.user)
    TenantPolicyFactory(
        tenant=membership.organization, requirement=Requirement.RISK_BASED, risk_new_device=False
    )
    client.post(reverse("login"), login_data(device.user), **ip("203.0.113.7"))
    assert last_decision(device.user)["reasons"] == ["new_location"]


# --- the client's IP behind proxies -------------------------------------------------------------


def request_from(rf, remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_without_trusted_proxies_a_forwarded_header_is_ignored(rf):
    assert client_ip(request_from(rf, "198.51.100.1", "203.0.113.9")) == "198.51.100.1"


def test_one_trusted_proxy_takes_the_address_it_appended(rf, settings):
    settings.MFA_TRUSTED_PROXY_COUNT = 1
    # The client forged "1.2.3.4"; the proxy appended what it saw, 203.0.113.9.
    request = request_from(rf, "10.0.0.2", "1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"
    assert client_ip(request_from(rf, "10.0.0.2")) == "10.0.0.2"


def test_trusted_proxy_networks_are_skipped_from_the_right(rf, settings):
    settings.MFA_TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]
    request = request_from(rf, "10.0.0.2", "1.2.3.4, 203.0.113.9, 10.1.1.1")
    assert client_ip(request) == "203.0.113.9"
    # Straight from the internet, not through a proxy: the header means nothing.
    assert client_ip(request_from(rf, "198.51.100.1", "1.2.3.4")) == "198.51.100.1"


@pytest.mark.parametrize("forwarded", ["not-an-ip", "", ",,,", "999.1.1.1", "[::1"])
def test_a_garbled_header_falls_back_to_the_proxy(rf, settings, forwarded):
    settings.MFA_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from(rf, "10.0.0.2", forwarded)) == "10.0.0.2"


def test_the_audit_log_records_the_client_behind_the_proxy(client, device, settings):
    settings.MFA_TRUSTED_PROXY_COUNT = 1
    client.post(
        reverse("login"),
        login_data(device.user),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
    )
    assert MFAEvent.objects.get(kind="decision").ip_address == "203.0.113.9"


# --- who is exempt, who never is ----------------------------------------------------------------


def test_staff_are_under_required_even_in_a_disabled_tenant(client, db):
    staff = StaffFactory()
    membership = MembershipFactory(user=staff)
    TenantPolicyFactory(tenant=membership.organization, requirement=Requirement.DISABLED)
    password_login(client, staff)
    assert not is_logged_in(client)
    assert client.get("/admin/")["Location"] == ENROLL
    assert last_decision(staff)["reasons"] == ["staff_rule", "required"]


def test_the_staff_rule_can_be_turned_off(client, db, settings):
    settings.MFA_STAFF_ALWAYS_REQUIRED = False
    staff = StaffFactory()
    password_login(client, staff)
    assert is_logged_in(client)


@pytest.fixture
def staff_device(db):
    return TOTPFactorFactory(user=StaffFactory())


def test_staff_are_not_offered_to_remember_the_browser(client, staff_device):
    """TD-01: a remembered browser is at most AAL1; staff hold the keys to everyone's MFA."""
    password_login(client, staff_device.user)
    assert "Remember this device" not in client.get(CHALLENGE).content.decode()
    data = {"factor": "TOTP", "code": code_for(staff_device), "remember": "1"}
    assert client.post(CHALLENGE, data).status_code == 302
    assert not TrustedDevice.objects.exists()


def test_a_browser_remembered_for_staff_does_not_skip_their_challenge(
    client, staff_device, settings
):
    settings.MFA_TRUSTED_DEVICES_FOR_STAFF = True
    sign_in(client, staff_device, remember=True)
    log_out(client)
    settings.MFA_TRUSTED_DEVICES_FOR_STAFF = False
    password_login(client, staff_device.user)
    assert not is_logged_in(client)
    assert last_decision(staff_device.user)["reasons"] == ["staff_rule", "factor_enrolled"]


def test_the_staff_setting_on_restores_remembered_browsers_for_staff(
    client, staff_device, settings
):
    settings.MFA_TRUSTED_DEVICES_FOR_STAFF = True
    password_login(client, staff_device.user)
    assert "Remember this device" in client.get(CHALLENGE).content.decode()
    client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(staff_device), "remember": "1"})
    log_out(client)
    password_login(client, staff_device.user)
    assert is_logged_in(client)
    assert last_decision(staff_device.user)["reasons"] == ["staff_rule", "trusted_device"]


def test_the_api_does_not_remember_a_staff_members_browser(staff_device):
    api = pending_api(staff_device.user)
    response = verify(api, code=code_for(staff_device), remember_device=True)
    assert response.status_code == 200
    assert response.json()["device_remembered"] is False
    assert not TrustedDevice.objects.exists()


class SSOBackend(ModelBackend):
    """Stands for a single-sign-on backend whose provider does its own MFA."""


def test_users_of_an_exempt_backend_are_neither_challenged_nor_enrolled(client, device, settings):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_policy_engine.SSOBackend",
    ]
    settings.MFA_EXEMPT_BACKENDS = ["tests.test_policy_engine.SSOBackend"]
    client.force_login(device.user, backend="tests.test_policy_engine.SSOBackend")
    assert is_logged_in(client)
    assert last_decision(device.user)["reasons"] == ["exempt_backend"]
    other = Client()
    other.force_login(device.user, backend="django.contrib.auth.backends.ModelBackend")
    assert not is_logged_in(other)


# --- timed bypass -------------------------------------------------------------------------------


def test_a_bypass_lets_the_user_in_until_it_ends(client, device):
    staff = StaffFactory()
    services.grant_bypass(device.user, timezone.now() + timedelta(days=1), "lost phone", staff)
    password_login(client, device.user)
    assert is_logged_in(client)
    assert last_decision(device.user)["reasons"] == ["bypass"]
    log_out(client)
    with later(days=1, seconds=1):
        password_login(client, device.user)
        assert not is_logged_in(client)
    assert UserState.objects.get(user=device.user).bypass_granted_by == staff.get_username()
    event = MFAEvent.objects.get(kind="bypass_granted")
    assert event.actor == staff.get_username() and event.details["reason"] == "lost phone"


def test_a_bypass_needs_a_reason_and_a_future_end(device):
    from mfa_app import errors

    with pytest.raises(errors.InvalidBypass):
        services.grant_bypass(device.user, timezone.now() + timedelta(days=1), "  ", None)
    with pytest.raises(errors.InvalidBypass):
        services.grant_bypass(device.user, timezone.now() - timedelta(seconds=1), "x", None)
    assert services.active_bypass(device.user) is None


def test_ending_a_bypass(client, device):
    services.grant_bypass(device.user, timezone.now() + timedelta(days=1), "lost phone", None)
    assert services.end_bypass(device.user)
    password_login(client, device.user)
    assert not is_logged_in(client)


def test_staff_users_without_a_factor_can_postpone_within_a_grace_period(client, app_policy):
    """The staff rule raises the requirement; the rest of the policy (grace) still applies."""
    app_policy.grace_period_days = 2
    app_policy.save()
    staff = StaffFactory()
    password_login(client, staff)
    assert "Set up later (2 days left)" in client.get(ENROLL).content.decode()


def test_unknown_users_get_no_state_rows(client, db):
    UserFactory()
    assert not UserState.objects.exists()


def test_a_tenant_override_covers_every_policy_field(device):
    from mfa_app.policy import POLICY_FIELDS, policy_for

    values = {
        "requirement": Requirement.RISK_BASED,
        "allowed_factors": ["SMS"],
        "recovery_codes_enabled": False,
        "recovery_codes_count": 3,
        "issuer": "Acme",
        "grace_period_days": 7,
        "trusted_devices_enabled": False,
        "trusted_device_days": 9,
        "risk_new_device": False,
        "risk_new_location": False,
        "risk_suspicious_ip": False,
        "risk_password_changed": False,
    }
    assert set(values) == set(POLICY_FIELDS)
    membership = MembershipFactory(user=device.user)
    TenantPolicyFactory(tenant=membership.organization, **values)
    policy = policy_for(device.user)
    assert policy.source == "tenant"
    for name, value in values.items():
        expected = frozenset(value) if name == "allowed_factors" else value
        assert getattr(policy, name) == expected, name


def test_staff_cannot_grant_themselves_a_bypass(db):
    from mfa_app import errors

    staff = StaffFactory()
    with pytest.raises(errors.InvalidBypass):
        services.grant_bypass(staff, timezone.now() + timedelta(days=1), "travelling", staff)
    assert services.active_bypass(staff) is None


def test_a_remembered_device_does_not_open_sensitive_changes(client, device):
    """TD-05: trust skips the sign-in challenge, never the step-up before removing a factor."""
    sign_in(client, device, remember=True)
    log_out(client)
    password_login(client, device.user)
    assert is_logged_in(client)
    remove = reverse("mfa_app:remove_factor", args=["TOTP", device.pk])
    response = client.post(remove)
    assert response["Location"].startswith(reverse("mfa_app:step_up"))
    assert device.__class__.objects.filter(pk=device.pk).exists()
