"""The admin's policy screens, as a staff member uses them."""

import re

import pytest

from mfa_app.models import ApplicationPolicy, Requirement

from ..factories import (
    PASSWORD,
    OrganizationFactory,
    SMSFactorFactory,
    StaffFactory,
    TenantPolicyFactory,
)
from .helpers import expect, login_name, path_is

pytestmark = pytest.mark.e2e


def test_staff_edits_the_application_policy_and_opens_a_tenant_policy(
    page, shot, app_policy, sms_outbox
):
    # Start from a policy that allows SMS but not TOTP, so both boxes really change.
    app_policy.allowed_factors = ["WEBAUTHN", "SMS"]
    app_policy.save()
    staff = StaffFactory()
    SMSFactorFactory(user=staff)
    acme = TenantPolicyFactory(
        tenant=OrganizationFactory(name="Acme"), requirement=Requirement.REQUIRED
    )

    page.goto("/admin/")
    expect(page).to_have_url(path_is("/admin/login/"))
    page.locator('input[name="username"]').fill(login_name(staff))
    page.locator('input[name="password"]').fill(PASSWORD)
    shot("admin-login")
    page.get_by_role("button", name="Log in").click()
    # Staff are always under REQUIRED: the admin opens after the second step.
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)
    page.get_by_role("textbox", name="Code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(path_is("/admin/"))
    shot("admin-index")

    page.get_by_role("link", name="Application policy", exact=True).click()
    expect(page).to_have_url(
        path_is(f"/admin/mfa_app/applicationpolicy/{ApplicationPolicy.SINGLETON_PK}/change/")
    )
    shot("application-policy")
    sms, totp = (
        page.get_by_label("Text message (SMS)"),
        page.get_by_label("Authenticator app (TOTP)"),
    )
    expect(sms).to_be_checked()
    expect(totp).not_to_be_checked()
    page.get_by_label("Requirement:").select_option(Requirement.REQUIRED)
    sms.uncheck()
    totp.check()
    shot("application-policy-edited")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    shot("saved")
    policy = ApplicationPolicy.load()
    assert policy.requirement == Requirement.REQUIRED
    assert policy.allowed_factors == ["TOTP", "WEBAUTHN"]

    page.get_by_role("link", name="Tenant policies").first.click()
    expect(page).to_have_url(path_is("/admin/mfa_app/tenantpolicy/"))
    shot("tenant-policies")
    page.get_by_role("link", name="Acme").click()
    expect(page).to_have_url(path_is(f"/admin/mfa_app/tenantpolicy/{acme.pk}/change/"))
    expect(page.locator(".field-tenant .readonly")).to_have_text("Acme")
    expect(page.get_by_label("Requirement:")).to_have_value(Requirement.REQUIRED)
    shot("tenant-policy")
