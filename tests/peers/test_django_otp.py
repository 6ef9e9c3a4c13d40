"""mfa_import --from django_otp: django-otp's TOTP and static devices, made by django-otp itself.

Also where the command's shared rules are tested (dry run, subset, refusals, policy check,
idempotence, --delete-source, audit), since django-otp needs no other peer.
"""

import base64

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfa_app.models import (
    ImportedRecord,
    MFAEvent,
    RecoveryCode,
    RecoveryCodeSet,
    TOTPFactor,
)
from mfa_app.webhooks.types import EVENT_TYPES
from tests.factories import UserFactory

from .helpers import logout, run_import, sign_in_with_code, signed_in

NOW = 1_800_000_000  # a step boundary: 30 s steps from 0


def otp_totp(user, **fields):
    """An authenticator app as django-otp makes it (random hex key, its defaults)."""
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True, **fields)


def code_of(device, at: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = at
    return f"{totp.token():0{device.digits}d}"


def counts() -> dict[str, int]:
    return {
        "totp": TOTPFactor.objects.count(),
        "sets": RecoveryCodeSet.objects.count(),
        "codes": RecoveryCode.objects.count(),
        "ledger": ImportedRecord.objects.count(),
        "events": MFAEvent.objects.count(),
        "peer_totp": TOTPDevice.objects.count(),
        "peer_static": StaticDevice.objects.count(),
    }


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- TOTP -----------------------------------------------------------------------------------


def test_a_totp_app_signs_in_after_the_import_and_its_used_code_stays_refused(client, user, frozen):
    device = otp_totp(user)
    used = code_of(device, NOW)
    assert device.verify_token(used)  # django-otp accepted it: last_t is now this step
    out = run_import("django_otp")
    assert f"{user.username}: imported TOTP x1" in out
    factor = TOTPFactor.objects.get(user=user)
    assert factor.key == base64.b32encode(device.bin_key).decode()
    assert factor.confirmed and factor.is_primary and factor.name == "Phone"

    assert not signed_in(client, sign_in_with_code(client, user, "TOTP", used))
    logout(client)
    frozen.shift(30)
    response = sign_in_with_code(client, user, "TOTP", code_of(device, NOW + 30))
    assert signed_in(client, response)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"digits": 8}, "8-digit codes; this site checks 6"),
        ({"step": 60}, "a 60s time step; this site uses 30s"),
        ({"t0": 15}, "time steps counted from 15; this site counts from 0"),
    ],
)
def test_a_totp_app_mfa_app_cannot_check_is_refused_and_its_user_left_untouched(fields, why):
    refused, fine = UserFactory(), UserFactory()
    bad = otp_totp(refused, **fields)
    StaticToken.objects.create(
        device=StaticDevice.objects.create(user=refused, name="backup"), token="abcd2345"
    )
    otp_totp(fine)
    out = run_import("django_otp")
    assert f"{refused.username}: left untouched, refused:" in out
    assert f"refused otp_totp.totpdevice:{bad.pk} 'Phone' (TOTP): {why}" in out
    assert f"{fine.username}: imported TOTP x1" in out
    # Nothing of the refused user's was imported, not even the codes that could have been.
    assert not TOTPFactor.objects.filter(user=refused).exists()
    assert not RecoveryCodeSet.objects.filter(user=refused).exists()
    assert TOTPFactor.objects.filter(user=fine).count() == 1
    assert "1 user(s) left untouched because of 1 refused record(s)" in out


def test_an_unconfirmed_device_is_not_imported(user):
    TOTPDevice.objects.create(user=user, name="Half set up", confirmed=False)
    out = run_import("django_otp")
    assert f"{user.username}: nothing new to import" in out
    assert not TOTPFactor.objects.exists()


# --- static tokens become recovery codes ----------------------------------------------------


def test_static_tokens_sign_in_once_each_and_the_user_is_asked_for_new_ones(
    client, user, django_capture_on_commit_callbacks
):
    otp_totp(user)
    static = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    tokens = [StaticToken.random_token() for _ in range(4)]
    for token in tokens:
        static.token_set.create(token=token)
    assert static.verify_token(tokens[0])  # spent at django-otp: gone from its table
    with django_capture_on_commit_callbacks(execute=True):
        out = run_import("django_otp")
    assert "imported TOTP x1, recovery codes x1" in out
    code_set = RecoveryCodeSet.objects.get(user=user)
    assert code_set.legacy_format == "django_otp" and code_set.codes.count() == 3
    assert tokens[1] not in str(list(code_set.codes.values_list("digest", flat=True)))

    assert signed_in(client, sign_in_with_code(client, user, "RECOVERY", tokens[1]))
    logout(client)
    # Typed in capitals, with a space: still the same code.
    typed = f"{tokens[2][:4].upper()} {tokens[2][4:]}"
    assert signed_in(client, sign_in_with_code(client, user, "RECOVERY", typed))
    page = client.get(reverse("mfa_app:security")).content.decode()
    assert "come from your previous two-step verification setup" in page
    logout(client)
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", tokens[1]))
    logout(client)
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", tokens[0]))

    [email] = [m for m in mail.outbox if "make a new set of recovery codes" in m.subject]
    assert email.to == [user.email] and "still work, once each" in email.body


def test_codes_of_our_own_shape_still_work_beside_imported_ones(client, user):
    """A regenerated set is mfa_app's own again: the notice goes, our codes work."""
    otp_totp(user)
    StaticDevice.objects.create(user=user, name="backup").token_set.create(token="abcd2345")
    run_import("django_otp")
    from mfa_app.factors import fallback_factor

    fresh = fallback_factor().replace_codes(user, 2)
    assert RecoveryCodeSet.objects.get(user=user).legacy_format == ""
    assert not signed_in(client, sign_in_with_code(client, user, "RECOVERY", "abcd2345"))
    logout(client)
    assert signed_in(client, sign_in_with_code(client, user, "RECOVERY", fresh[0]))
    page = client.get(reverse("mfa_app:security")).content.decode()
    assert "previous two-step verification setup" not in page


def test_a_user_who_already_has_recovery_codes_here_is_refused(user):
    from mfa_app.factors import fallback_factor

    otp_totp(user)
    StaticDevice.objects.create(user=user, name="backup").token_set.create(token="abcd2345")
    fallback_factor().replace_codes(user, 2)
    out = run_import("django_otp")
    assert "the user already has recovery codes here" in out
    assert not TOTPFactor.objects.filter(user=user).exists()


# --- the command's rules --------------------------------------------------------------------


def test_a_dry_run_prints_the_plan_and_changes_nothing(user):
    otp_totp(user)
    otp_totp(UserFactory(), digits=8)
    StaticDevice.objects.create(user=user, name="backup").token_set.create(token="abcd2345")
    before = counts()
    out = run_import("django_otp", "--dry-run")
    assert "dry run: nothing changes" in out
    assert f"{user.username}: would import TOTP x1, recovery codes x1" in out
    assert "8-digit codes" in out
    assert "would import 2 factor(s) for 1 user(s)" in out
    assert counts() == before


def test_running_twice_imports_nothing_new(user):
    otp_totp(user)
    StaticDevice.objects.create(user=user, name="backup").token_set.create(token="abcd2345")
    run_import("django_otp")
    after_first = counts()
    out = run_import("django_otp")
    assert counts() == after_first
    assert "already imported otp_totp.totpdevice" in out
    assert "imported 0 factor(s)" in out


def test_users_limits_the_import_to_those_named(user):
    other = UserFactory()
    otp_totp(user)
    otp_totp(other)
    run_import("django_otp", "--users", other.username)
    assert list(TOTPFactor.objects.values_list("user", flat=True)) == [other.pk]


def test_each_imported_factor_is_audited_and_has_a_webhook_type(user):
    device = otp_totp(user)
    run_import("django_otp")
    event = MFAEvent.objects.get(kind="imported")
    assert event.user == user and event.factor_type == "TOTP"
    assert event.details == {"source": "django_otp", "record": f"otp_totp.totpdevice:{device.pk}"}
    assert EVENT_TYPES[MFAEvent.Kind.IMPORTED] == "mfa.factor_imported"


def test_delete_source_removes_only_what_was_imported(user):
    refused = UserFactory()
    otp_totp(user)
    kept = otp_totp(refused, digits=8)
    out = run_import("django_otp", "--delete-source")
    assert "deleted 1 record(s) of django-otp" in out
    assert list(TOTPDevice.objects.all()) == [kept]
    assert TOTPFactor.objects.filter(user=user).exists()


def test_delete_source_later_removes_what_an_earlier_run_imported(user):
    otp_totp(user)
    run_import("django_otp")
    assert TOTPDevice.objects.count() == 1
    run_import("django_otp", "--delete-source")
    assert TOTPDevice.objects.count() == 0 and TOTPFactor.objects.count() == 1


def test_a_policy_that_does_not_allow_a_factor_type_stops_before_any_write(app_policy, user):
    app_policy.allowed_factors = ["WEBAUTHN"]
    app_policy.save()
    otp_totp(user)
    otp_totp(UserFactory())
    before = counts()
    with pytest.raises(CommandError) as refused:
        run_import("django_otp")
    message = str(refused.value)
    assert "Nothing was imported" in message
    assert f"{user.username}: the application policy does not allow TOTP" in message
    assert counts() == before


def test_recovery_codes_switched_off_stop_the_import_of_static_tokens(app_policy, user):
    app_policy.recovery_codes_enabled = False
    app_policy.save()
    otp_totp(user)
    StaticDevice.objects.create(user=user, name="backup").token_set.create(token="abcd2345")
    with pytest.raises(CommandError, match="does not allow recovery codes"):
        run_import("django_otp")
    assert not TOTPFactor.objects.exists()


def test_a_bad_batch_size_is_a_clear_error():
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run_import("django_otp", "--batch-size", "0")


def test_small_batches_import_everyone(user):
    users = [UserFactory() for _ in range(3)]
    for each in users:
        otp_totp(each)
    run_import("django_otp", "--batch-size", "1")
    assert TOTPFactor.objects.count() == 3


def test_an_unknown_user_in_users_is_a_clear_error_and_nothing_is_imported(user):
    otp_totp(user)
    with pytest.raises(CommandError, match="--users: no such user: nobody"):
        run_import("django_otp", "--users", user.username, "nobody")
    assert not TOTPFactor.objects.exists()
