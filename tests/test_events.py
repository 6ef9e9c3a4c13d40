"""The audit log and its signals: every MFA event, with user, tenant, IP and time; no secrets."""

import pytest
from django.urls import reverse

from mfa_app import services, signals
from mfa_app.models import Challenge, MFAEvent

from .conftest import password_login
from .factories import MembershipFactory, OrganizationFactory, TOTPFactorFactory, code_for


@pytest.fixture
def received():
    """Collect every mfa_app signal as (signal name, kwargs)."""
    log = []
    names = [n for n in dir(signals) if isinstance(getattr(signals, n), type(signals.mfa_reset))]
    handlers = []
    for name in names:

        def handler(sender, _name=name, **kwargs):
            log.append((_name, kwargs))

        getattr(signals, name).connect(handler)
        handlers.append((getattr(signals, name), handler))
    yield log
    for signal, handler in handlers:
        signal.disconnect(handler)


def test_a_login_with_a_wrong_then_right_code_is_logged_and_signalled(client, received):
    device = TOTPFactorFactory()
    membership = MembershipFactory(user=device.user)
    password_login(client, device.user)
    client.post(reverse("mfa_app:challenge"), {"code": "000000"}, REMOTE_ADDR="203.0.113.9")
    client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})

    kinds = list(MFAEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["decision", "challenged", "failed", "verified"]
    decision = MFAEvent.objects.get(kind="decision")
    assert decision.details == {"outcome": "challenge", "reasons": ["factor_enrolled"]}
    failed = MFAEvent.objects.get(kind="failed")
    assert failed.user == device.user
    assert failed.username == device.user.get_username()
    assert failed.tenant == str(membership.organization)
    assert failed.ip_address == "203.0.113.9"
    assert failed.factor_type == "TOTP"
    assert failed.created_at is not None
    assert [name for name, _ in received] == [
        "login_decided",
        "challenge_started",
        "challenge_failed",
        "challenge_passed",
    ]
    _, kwargs = received[2]
    assert kwargs["event"] == failed and kwargs["user"] == device.user
    assert kwargs["request"] is not None


def test_a_sign_ins_answers_are_logged_under_the_tenant_it_began_with(client):
    """The tenant is resolved once, at the password step; moving the user meanwhile does not
    split one sign-in's events over two tenants."""
    device = TOTPFactorFactory()
    membership = MembershipFactory(user=device.user)
    first = str(membership.organization)
    password_login(client, device.user)
    membership.organization = OrganizationFactory()
    membership.save()
    client.post(reverse("mfa_app:challenge"), {"code": "000000"})
    client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})

    logged = dict(MFAEvent.objects.values_list("kind", "tenant"))
    assert logged == {"decision": first, "challenged": first, "failed": first, "verified": first}
    assert Challenge.objects.get().tenant == first


def test_a_challenge_from_before_tenants_were_kept_asks_the_resolver(client):
    device = TOTPFactorFactory()
    membership = MembershipFactory(user=device.user)
    password_login(client, device.user)
    Challenge.objects.update(tenant=None)
    client.post(reverse("mfa_app:challenge"), {"code": code_for(device)})

    assert MFAEvent.objects.get(kind="verified").tenant == str(membership.organization)


def test_enrollment_removal_codes_and_reset_are_each_logged(received, user):
    device = TOTPFactorFactory(user=user)
    codes = services.recovery_codes_after_enrollment(user)
    challenge = services.start_challenge(user)
    services.verify_challenge(user, challenge.pk, "RECOVERY", codes[0])
    services.remove_factor(user, device)
    staff = TOTPFactorFactory().user
    services.reset_mfa(user, actor=staff)

    kinds = set(MFAEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {
        "recovery_codes_generated",
        "recovery_code_used",
        "factor_removed",
        "reset",
    } <= kinds
    assert MFAEvent.objects.get(kind="reset").actor == staff.get_username()
    assert {"recovery_code_used", "factor_removed", "mfa_reset"} <= {n for n, _ in received}


def test_no_code_or_secret_reaches_the_audit_log(client, user):
    device = TOTPFactorFactory(user=user)
    codes = services.recovery_codes_after_enrollment(user)
    password_login(client, user)
    wrong = "123456" if code_for(device) != "123456" else "654321"
    client.post(reverse("mfa_app:challenge"), {"code": wrong})
    client.post(reverse("mfa_app:challenge"), {"code": codes[0], "factor": "RECOVERY"})
    dump = repr(list(MFAEvent.objects.values()))
    for secret in (device.key, wrong, *codes):
        assert secret not in dump
