"""The effective policy: the application policy, or the user's tenant's when it overrides."""

import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import time_machine
from django.urls import reverse

from mfa_app.models import ApplicationPolicy, FactorType, Requirement, TenantPolicy, TOTPFactor
from mfa_app.policy import EffectivePolicy, policy_for
from mfa_app.qr import qr_svg

from .conftest import is_logged_in, password_login
from .factories import (
    MembershipFactory,
    OrganizationFactory,
    TenantPolicyFactory,
    TOTPFactorFactory,
    code_for,
)

ENROLL = reverse("mfa_app:enroll")
ENROLL_TOTP = reverse("mfa_app:enroll_totp")
CHALLENGE = reverse("mfa_app:challenge")
SECURITY = reverse("mfa_app:security")

APP_VALUES = {
    "requirement": Requirement.OPTIONAL,
    "allowed_factors": [FactorType.TOTP, FactorType.WEBAUTHN],
    "recovery_codes_enabled": True,
    "recovery_codes_count": 10,
    "issuer": "Example App",
}
TENANT_VALUES = {
    "requirement": Requirement.REQUIRED,
    "allowed_factors": [FactorType.TOTP, FactorType.SMS],
    "recovery_codes_enabled": False,
    "recovery_codes_count": 4,
    "issuer": "Acme Corp",
}


def configure_app(**values) -> ApplicationPolicy:
    policy = ApplicationPolicy.load()
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def as_plain(policy: EffectivePolicy) -> dict:
    return {
        "requirement": policy.requirement,
        "allowed_factors": sorted(policy.allowed_factors),
        "recovery_codes_enabled": policy.recovery_codes_enabled,
        "recovery_codes_count": policy.recovery_codes_count,
        "issuer": policy.issuer,
    }


def expected(values: dict) -> dict:
    return {**values, "allowed_factors": sorted(values["allowed_factors"])}


@pytest.fixture
def app_values(db):
    configure_app(**APP_VALUES)


@pytest.fixture
def member(db):
    return MembershipFactory().user


def override_for(user, **values):
    return TenantPolicyFactory(tenant=user.membership.organization, **{**TENANT_VALUES, **values})


# --- policy_for ------------------------------------------------------------------------------


def test_a_user_without_a_tenant_gets_the_application_policy(app_values, user):
    policy = policy_for(user)
    assert as_plain(policy) == expected(APP_VALUES)
    assert policy.source == "application"


def test_a_member_of_a_tenant_without_a_tenant_policy_gets_the_application_policy(
    app_values, member
):
    policy = policy_for(member)
    assert as_plain(policy) == expected(APP_VALUES)
    assert policy.source == "application"


def test_a_tenant_policy_that_overrides_gives_all_its_own_values(app_values, member):
    override_for(member)
    policy = policy_for(member)
    assert as_plain(policy) == expected(TENANT_VALUES)
    assert policy.source == "tenant"
    assert policy.required
    assert policy.allows(FactorType.SMS)
    assert not policy.allows(FactorType.WEBAUTHN)


def test_a_tenant_policy_with_the_override_off_is_ignored(app_values, member):
    override_for(member, override=False)
    policy = policy_for(member)
    assert as_plain(policy) == expected(APP_VALUES)
    assert policy.source == "application"


def test_turning_the_override_on_and_off_takes_effect_at_once(app_values, member):
    tenant_policy = override_for(member, override=False)
    assert policy_for(member).source == "application"
    tenant_policy.override = True
    tenant_policy.save()
    assert policy_for(member).source == "tenant"
    tenant_policy.override = False
    tenant_policy.save()
    assert policy_for(member).source == "application"


def test_another_tenants_override_does_not_reach_users_outside_it(app_values, member, user):
    override_for(member)
    other_member = MembershipFactory(organization=OrganizationFactory()).user
    for outsider in (user, other_member):
        policy = policy_for(outsider)
        assert policy.source == "application"
        assert as_plain(policy) == expected(APP_VALUES)


def test_an_empty_issuer_on_the_tenant_does_not_fall_back_to_the_applications(app_values, member):
    # The tenant's values replace the application's wholesale, issuer included.
    override_for(member, issuer="")
    assert policy_for(member).issuer == ""
    assert policy_for(member).source == "tenant"


def test_the_application_policy_is_read_fresh_each_time(user):
    assert policy_for(user).requirement == Requirement.OPTIONAL
    configure_app(requirement=Requirement.REQUIRED)
    assert policy_for(user).requirement == Requirement.REQUIRED


# --- what the tenant's values do, seen through HTTP -------------------------------------------


def test_a_tenant_that_requires_mfa_sends_its_members_to_enrollment(client, member, user):
    TenantPolicyFactory(tenant=member.membership.organization, requirement=Requirement.REQUIRED)
    password_login(client, member)
    assert not is_logged_in(client)
    assert client.get("/")["Location"] == ENROLL

    # Someone outside the tenant, same application policy (OPTIONAL), is logged in directly.
    client.logout()
    password_login(client, user)
    assert is_logged_in(client)


def test_a_tenant_override_that_disables_mfa_wins_over_a_required_application(client):
    configure_app(requirement=Requirement.REQUIRED)
    device = TOTPFactorFactory(user=MembershipFactory().user)
    TenantPolicyFactory(
        tenant=device.user.membership.organization, requirement=Requirement.DISABLED
    )
    password_login(client, device.user)
    assert is_logged_in(client)
    assert client.get(SECURITY).status_code == 404

    # The same tenant policy with the override off: the application's REQUIRED applies.
    TenantPolicy.objects.filter(tenant=device.user.membership.organization).update(override=False)
    client.logout()
    password_login(client, device.user)
    assert not is_logged_in(client)
    assert client.get("/")["Location"] == CHALLENGE


def test_the_tenant_recovery_code_count_is_what_a_member_receives(client, member):
    TenantPolicyFactory(
        tenant=member.membership.organization,
        requirement=Requirement.REQUIRED,
        recovery_codes_count=3,
    )
    password_login(client, member)
    page = client.get(ENROLL_TOTP)
    response = client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret_of(page)).now()})
    assert response.status_code == 200
    assert len(re.findall(r"<li><code>[^<]+</code></li>", response.content.decode())) == 3
    assert is_logged_in(client)


def test_a_tenant_without_recovery_codes_shows_none_after_enrollment(client, member):
    TenantPolicyFactory(
        tenant=member.membership.organization,
        requirement=Requirement.REQUIRED,
        recovery_codes_enabled=False,
    )
    password_login(client, member, next_url=reverse("private"))
    page = client.get(ENROLL_TOTP)
    response = client.post(ENROLL_TOTP, {"code": pyotp.TOTP(secret_of(page)).now()})
    assert response.status_code == 302
    assert response["Location"] == reverse("private")
    assert is_logged_in(client)
    # And the challenge at the next login offers no "Use a recovery code".
    client.logout()
    device = TOTPFactor.objects.get(user=member)
    # Half a minute later: enrollment spent the current code, the app shows the next one.
    with time_machine.travel(time.time() + 30, tick=False):
        password_login(client, member)
        challenge = client.get(CHALLENGE).content.decode()
        assert "recovery code" not in challenge.lower()
        assert client.post(CHALLENGE, {"code": code_for(device)}).status_code == 302
    assert is_logged_in(client)


# --- issuer -----------------------------------------------------------------------------------


def secret_of(page) -> str:
    match = re.search(
        r'<code class="mfa-secret-key" data-secret>\s*([A-Z2-7]+=*)\s*</code>',
        page.content.decode(),
    )
    assert match, "the enrollment page shows no secret"
    return match.group(1)


def enrollment_uri(client, user, **extra) -> str:
    """Log ``user`` in (no factor, OPTIONAL) and read the otpauth URI their enrollment page uses."""
    password_login(client, user)
    assert is_logged_in(client)
    page = client.get(ENROLL_TOTP, **extra)
    assert page.status_code == 200
    setup = page.context["setup"]
    html = page.content.decode()
    # The page's QR code and manual-entry key are both made from this URI's secret.
    assert qr_svg(setup.uri) in html
    assert setup.secret == secret_of(page)
    assert parse_qs(urlsplit(setup.uri).query)["secret"] == [setup.secret]
    return setup.uri


def issuer_in(uri: str) -> tuple[str, str]:
    """The issuer parameter and the issuer prefix of the label, decoded."""
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    label = unquote(parts.path.lstrip("/"))
    prefix = label.split(":", 1)[0] if ":" in label else ""
    return parse_qs(parts.query)["issuer"][0], prefix


def test_the_default_issuer_is_the_sites_name_which_without_the_sites_framework_is_the_host(
    client, user
):
    uri = enrollment_uri(client, user)
    assert issuer_in(uri) == ("testserver", "testserver")
    assert unquote(urlsplit(uri).path).endswith(":" + user.get_username())


def test_the_default_issuer_follows_the_host_the_site_is_reached_at(client, user):
    uri = enrollment_uri(client, user, HTTP_HOST="localhost")
    assert issuer_in(uri) == ("localhost", "localhost")


def test_a_custom_application_issuer_appears_in_the_otpauth_uri(client, user):
    configure_app(issuer="Example Inc")
    uri = enrollment_uri(client, user)
    assert issuer_in(uri) == ("Example Inc", "Example Inc")
    assert "issuer=Example%20Inc" in uri


def test_a_tenant_issuer_appears_in_its_members_otpauth_uri(client, member):
    configure_app(issuer="Example Inc")
    TenantPolicyFactory(tenant=member.membership.organization, issuer="Acme Corp")
    uri = enrollment_uri(client, member)
    assert issuer_in(uri) == ("Acme Corp", "Acme Corp")


def test_a_pending_enrollment_page_uses_the_tenant_issuer(client, member):
    TenantPolicyFactory(
        tenant=member.membership.organization,
        requirement=Requirement.REQUIRED,
        issuer="Acme Corp",
    )
    password_login(client, member)
    assert ENROLL_TOTP in client.get(ENROLL).content.decode()
    page = client.get(ENROLL_TOTP)
    assert issuer_in(page.context["setup"].uri) == ("Acme Corp", "Acme Corp")


# --- allowed factors --------------------------------------------------------------------------


def test_a_factor_the_application_does_not_allow_is_not_offered_and_its_page_404s(client, user):
    configure_app(allowed_factors=[FactorType.WEBAUTHN])
    password_login(client, user)
    assert is_logged_in(client)
    assert client.get(ENROLL_TOTP).status_code == 404
    assert client.post(ENROLL_TOTP, {"code": "123456"}).status_code == 404
    # The one allowed factor left (WebAuthn) is where the chooser leads.
    choose = client.get(ENROLL, follow=True)
    assert choose.status_code == 200
    assert ENROLL_TOTP not in choose.content.decode()
    security = client.get(SECURITY)
    assert security.status_code == 200
    assert ENROLL_TOTP not in security.content.decode()
    assert not TOTPFactor.objects.filter(user=user).exists()


def test_a_factor_the_tenant_does_not_allow_is_closed_to_members_only(client, member, user):
    TenantPolicyFactory(
        tenant=member.membership.organization,
        requirement=Requirement.OPTIONAL,
        allowed_factors=[FactorType.WEBAUTHN],
    )
    password_login(client, member)
    assert client.get(ENROLL_TOTP).status_code == 404
    assert ENROLL_TOTP not in client.get(SECURITY).content.decode()

    client.logout()
    password_login(client, user)
    assert client.get(ENROLL_TOTP).status_code == 200
    assert ENROLL_TOTP in client.get(SECURITY).content.decode()


def test_an_allowed_factor_is_offered(client, user):
    password_login(client, user)
    assert ENROLL_TOTP in client.get(ENROLL).content.decode()
    assert ENROLL_TOTP in client.get(SECURITY).content.decode()
