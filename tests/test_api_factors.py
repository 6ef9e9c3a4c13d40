"""The JSON API's factor management and recovery codes: only one's own, as on the pages."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mfa_app import services
from mfa_app.models import Requirement, SMSFactor, TOTPFactor

from .factories import SMSFactorFactory, TOTPFactorFactory
from .test_api import error_of, set_requirement, signed_in_api

STALE = timedelta(minutes=6)


@pytest.fixture
def owner(allow_codes):
    """A user with an authenticator app (primary) and a phone, signed in through MFA."""
    device = TOTPFactorFactory(name="Phone app")
    SMSFactorFactory(user=device.user, is_primary=False)
    return device.user


def test_the_list_has_the_users_factors_only_and_no_secret(owner):
    stranger = TOTPFactorFactory(name="Stranger's app")
    api = signed_in_api(owner)
    response = api.get("factors")
    assert response.status_code == 200
    factors = response.json()["factors"]
    assert [(f["type"], f["name"], f["primary"]) for f in factors] == [
        ("TOTP", "Phone app", True),
        ("SMS", "Mobile", False),
    ]
    assert factors[0]["last_used_at"] is not None  # the sign-in just now
    content = response.content.decode()
    assert "Stranger" not in content
    assert TOTPFactor.objects.get(user=owner).key not in content
    assert stranger.key not in content
    assert "+14155552671" not in content


def test_one_factor_and_the_ones_that_are_not_found(owner):
    device = TOTPFactor.objects.get(user=owner)
    other = TOTPFactorFactory()
    others_phone = SMSFactorFactory(user=other.user)
    api = signed_in_api(owner)
    response = api.get("factor", "TOTP", str(device.pk))
    assert response.json()["factor"]["id"] == str(device.pk)
    for factor_type, pk in (
        ("TOTP", other.pk),
        ("SMS", others_phone.pk),
        ("RECOVERY", "1"),
        ("NOPE", "1"),
        ("TOTP", "99999999"),
        ("TOTP", "1e3"),
    ):
        response = api.get("factor", factor_type, str(pk))
        assert response.status_code == 404, (factor_type, pk)
        assert error_of(response)["code"] == "factor_not_found"
        assert api.patch("factor", {"name": "Mine now"}, factor_type, str(pk)).status_code == 404
        assert api.delete("factor", factor_type, str(pk)).status_code == 404
        assert api.post("factor_primary", None, factor_type, str(pk)).status_code == 404
    other.refresh_from_db()
    assert other.name == "Phone" and TOTPFactor.objects.filter(pk=other.pk).exists()


def test_a_factor_is_renamed(owner):
    phone = SMSFactor.objects.get(user=owner)
    api = signed_in_api(owner)
    response = api.patch("factor", {"name": "  Work   phone "}, "SMS", str(phone.pk))
    assert response.status_code == 200
    assert response.json()["factor"]["name"] == "Work phone"
    phone.refresh_from_db()
    assert phone.name == "Work phone"
    for name in ("", "   ", "x" * 65):
        refused = api.patch("factor", {"name": name}, "SMS", str(phone.pk))
        assert refused.status_code == 400
        assert error_of(refused)["code"] == "invalid_name"
    missing = api.patch("factor", {}, "SMS", str(phone.pk))
    assert error_of(missing)["code"] == "invalid_request"
    phone.refresh_from_db()
    assert phone.name == "Work phone"


def test_the_primary_factor_is_chosen(owner):
    phone = SMSFactor.objects.get(user=owner)
    api = signed_in_api(owner)
    response = api.post("factor_primary", None, "SMS", str(phone.pk))
    assert response.status_code == 200
    assert response.json()["factor"]["primary"] is True
    assert [f["type"] for f in api.get("factors").json()["factors"] if f["primary"]] == ["SMS"]


def test_removing_a_factor_needs_recent_mfa(owner):
    phone = SMSFactor.objects.get(user=owner)
    api = signed_in_api(owner)
    with time_machine.travel(timezone.now() + STALE):
        refused = api.delete("factor", "SMS", str(phone.pk))
        assert refused.status_code == 403
        assert error_of(refused)["code"] == "reauthentication_required"
        assert SMSFactor.objects.filter(pk=phone.pk).exists()
    response = api.delete("factor", "SMS", str(phone.pk))
    assert response.status_code == 204
    assert response.content == b""
    assert not SMSFactor.objects.filter(pk=phone.pk).exists()


def test_the_last_factor_stays_under_required(totp_user):
    set_requirement(Requirement.REQUIRED)
    device = TOTPFactor.objects.get(user=totp_user)
    api = signed_in_api(totp_user)
    response = api.delete("factor", "TOTP", str(device.pk))
    assert response.status_code == 409
    assert error_of(response)["code"] == "last_factor_required"
    assert TOTPFactor.objects.filter(pk=device.pk).exists()


def test_factors_are_closed_while_the_policy_disables_mfa(owner):
    api = signed_in_api(owner)
    set_requirement(Requirement.DISABLED)
    for response in (api.get("factors"), api.get("recovery_codes")):
        assert response.status_code == 403
        assert error_of(response)["code"] == "factor_not_allowed"
    assert api.get("status").json()["enabled"] is False


# --- recovery codes -------------------------------------------------------------------------


def test_recovery_codes_are_counted_and_regenerated_after_recent_mfa(owner):
    old = services.regenerate_recovery_codes(owner)
    api = signed_in_api(owner)
    assert api.get("recovery_codes").json() == {"enabled": True, "remaining": 10}
    with time_machine.travel(timezone.now() + STALE):
        refused = api.post("recovery_codes")
        assert error_of(refused)["code"] == "reauthentication_required"
    response = api.post("recovery_codes")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    codes = response.json()["codes"]
    assert len(codes) == 10 and not set(codes) & set(old)
    from mfa_app.factors import get_factor

    assert get_factor("RECOVERY").verify(owner, old[0]) is None
    assert get_factor("RECOVERY").verify(owner, codes[0]) is not None
    assert api.get("recovery_codes").json()["remaining"] == 9


def test_recovery_codes_cannot_be_made_where_the_policy_turns_them_off(owner, app_policy):
    app_policy.recovery_codes_enabled = False
    app_policy.save()
    api = signed_in_api(owner)
    assert api.get("recovery_codes").json()["enabled"] is False
    response = api.post("recovery_codes")
    assert response.status_code == 403
    assert error_of(response)["code"] == "recovery_codes_disabled"
