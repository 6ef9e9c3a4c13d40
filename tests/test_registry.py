"""Outside factors/, mfa_app asks the registry: a factor a site registers is picked up unedited.

Each test registers a throwaway factor for itself only (``monkeypatch`` puts the registry back).
"""

import io

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mfa_app import services
from mfa_app.api.openapi import document
from mfa_app.decorators import mfa_required
from mfa_app.factors import base, policy_names
from mfa_app.factors.totp import TOTP
from mfa_app.models import ApplicationPolicy, Requirement
from mfa_app.policy import policy_for
from mfa_app.services.policies import policy_values, update_policy

from .conftest import sign_in_with_mfa
from .factories import StaffFactory, TOTPFactorFactory, code_for


class Token(TOTP):
    """A made-up factor: codes from a hardware token, stored like an authenticator app's."""

    type = "TOKEN"
    label = _("Hardware token")
    policy_name = "TOKEN"
    order = 25  # between security keys (20) and text messages (30)


@pytest.fixture
def extra_factor(monkeypatch):
    """``Token`` registered beside the built-in factors."""
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    base.register(Token)
    return base.get_factor("TOKEN")


@pytest.fixture
def token_instead_of_totp(monkeypatch):
    """``Token`` takes the authenticator apps' model over: the built-in TOTP is not registered."""
    registry = {t: f for t, f in base._REGISTRY.items() if t != "TOTP"}
    monkeypatch.setattr(base, "_REGISTRY", registry)
    base.register(Token)
    return base.get_factor("TOKEN")


def test_policy_names_are_the_second_factors_in_menu_order(extra_factor):
    assert policy_names() == ["TOTP", "WEBAUTHN", "TOKEN", "SMS", "EMAIL"]


def test_the_policy_service_accepts_a_registered_factor(extra_factor, app_policy):
    policy = update_policy(allowed_factors="EMAIL,TOKEN,TOTP")
    assert policy.allowed_factors == ["TOTP", "TOKEN", "EMAIL"]
    app_policy.allowed_factors = ["SMS", "TOKEN", "WEBAUTHN"]
    assert policy_values(app_policy)["allowed_factors"] == ["WEBAUTHN", "TOKEN", "SMS"]
    with pytest.raises(ValidationError) as refused:
        update_policy(allowed_factors=["FAX"])
    assert "Choose from TOTP, WEBAUTHN, TOKEN, SMS, EMAIL." in str(refused.value)


def test_without_it_its_name_is_unknown(app_policy):
    with pytest.raises(ValidationError):
        update_policy(allowed_factors=["TOKEN"])


def test_the_policy_admin_offers_and_saves_it(extra_factor, client, db):
    sign_in_with_mfa(client, StaffFactory())
    url = reverse("admin:mfa_app_applicationpolicy_change", args=[1])
    html = client.get(url).content.decode()
    assert 'type="checkbox" name="allowed_factors" value="TOKEN"' in html
    assert "Hardware token" in html
    # The built-in factors keep the model's choice labels.
    assert "Authenticator app (TOTP)" in html
    form = admin.site._registry[ApplicationPolicy].get_form(None)(
        data={
            "requirement": Requirement.REQUIRED,
            "allowed_factors": ["TOKEN", "TOTP"],
            "recovery_codes_count": "10",
            "grace_period_days": "0",
            "trusted_device_days": "30",
        },
        instance=ApplicationPolicy.load(),
    )
    assert form.is_valid(), form.errors
    form.save()
    assert ApplicationPolicy.load().allowed_factors == ["TOTP", "TOKEN"]


def test_the_mfa_policy_command_accepts_it(extra_factor, app_policy, user):
    out = io.StringIO()
    call_command("mfa_policy", "set", "--allowed-factors", "token,TOTP", stdout=out)
    assert policy_for(user).allowed_factors == {"TOTP", "TOKEN"}
    assert ApplicationPolicy.load().allowed_factors == ["TOTP", "TOKEN"]


def test_mfa_required_accepts_its_type(extra_factor):
    def view(request):
        return None

    assert mfa_required(factors=["TOKEN"])(view).__wrapped__ is view


def test_the_openapi_document_lists_it(extra_factor):
    schemas = document()["components"]["schemas"]
    assert schemas["Factor"]["properties"]["type"]["enum"] == [
        "TOTP",
        "WEBAUTHN",
        "TOKEN",
        "SMS",
        "EMAIL",
    ]
    assert schemas["ChallengeFactor"]["properties"]["type"]["enum"][-2:] == ["EMAIL", "RECOVERY"]
    allowed = schemas["Status"]["properties"]["allowed_factors"]["items"]["enum"]
    assert "TOKEN" in allowed


def test_the_services_know_its_devices(token_instead_of_totp, app_policy):
    device = TOTPFactorFactory()
    user = device.user
    assert services.factor_type_of(device) == "TOKEN"
    assert services.list_factors(user) == [device]
    # Not allowed yet: the policy allows TOTP and WEBAUTHN, and TOKEN is not TOTP.
    assert services.active_factors(user) == []
    assert not services.mfa_status(user).enabled

    app_policy.allowed_factors = ["TOKEN"]
    app_policy.save()
    assert services.active_factors(user) == [device]
    assert services.mfa_status(user).enabled
    assert services.challenge_factor_types(user) == ["TOKEN"]
    assert services.check_identity(user, code=code_for(device))

    challenge = services.start_challenge(user)
    verification = services.verify_challenge(user, challenge.pk, "TOKEN", code_for(device, 1))
    assert verification.factor_type == "TOKEN" and verification.device == device

    services.remove_factor(user, device)
    assert services.list_factors(user) == []
