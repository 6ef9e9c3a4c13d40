"""The management commands, run as an operator runs them, against real rows."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory, override_settings
from django.utils import timezone

from mfa_app import devices, errors, events, risk, services, throttle
from mfa_app.conf import app_settings
from mfa_app.management.commands.mfa_status import Command as StatusCommand
from mfa_app.models import (
    Challenge,
    LoginRecord,
    MFAEvent,
    RateLimit,
    RecoveryCode,
    RecoveryCodeSet,
    Requirement,
    SentCode,
    TenantPolicy,
    TOTPFactor,
    TrustedDevice,
    UserState,
)
from mfa_app.policy import POLICY_FIELDS, policy_for

from .factories import (
    MembershipFactory,
    SMSFactorFactory,
    StaffFactory,
    TOTPFactorFactory,
    UserFactory,
)

User = get_user_model()


class TTY(io.StringIO):
    """What a person types at a terminal."""

    def isatty(self) -> bool:
        return True


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def remember(user) -> TrustedDevice:
    return services.remember_device(user, RequestFactory().get("/", HTTP_USER_AGENT="Firefox"))


@pytest.fixture
def enrolled(allow_codes):
    """A user with an authenticator app (primary), a phone and recovery codes."""
    user = UserFactory()
    totp = TOTPFactorFactory(user=user, name="Work phone")
    SMSFactorFactory(user=user, name="Mobile", number="+14155552671", is_primary=False)
    services.regenerate_recovery_codes(user)
    events.record(services.Kind.DECISION, user, outcome="challenge", reasons=["factor_enrolled"])
    return user, totp


# --- mfa_status -----------------------------------------------------------------------------


def test_status_of_an_enrolled_user(enrolled):
    user, totp = enrolled
    remember(user)

    out = run("mfa_status", user.get_username())

    assert f"MFA status of {user.get_username()}" in out
    assert "MFA enabled: yes" in out
    assert "Requirement: OPTIONAL (application policy)" in out
    assert "Factors (2)" in out
    assert "'Work phone'" in out and "[primary]" in out
    assert "'Mobile'" in out and "sends to ***-***-2671" in out
    assert "Recovery codes remaining: 10" in out
    assert "Remembered devices: 1" in out
    assert "Wrong answers in a row: 0; not locked" in out
    assert "Bypass: none" in out
    assert "challenge: factor_enrolled" in out and "recovery_codes_generated" in out
    # Never a secret: not the TOTP key, not the full number.
    assert totp.key not in out and "4155552671" not in out


def test_status_of_a_user_without_factors(user):
    out = run("mfa_status", user.get_username())
    assert "MFA enabled: no" in out
    assert "Factors (0)\n  None" in out
    assert "Recovery codes remaining: 0" in out
    assert "Remembered devices: 0" in out
    assert "Recent events (0)\n  None" in out


def test_status_as_json(enrolled):
    user, totp = enrolled
    out = run("mfa_status", user.get_username(), "--json")

    data = json.loads(out)
    assert data["user"] == {"id": str(user.pk), "username": user.get_username()}
    assert data["enabled"] is True
    assert data["recovery_codes_remaining"] == 10
    assert [(f["type"], f["name"], f["primary"]) for f in data["factors"]] == [
        ("TOTP", "Work phone", True),
        ("SMS", "Mobile", False),
    ]
    assert data["factors"][1]["destination"] == "***-***-2671"
    assert datetime.fromisoformat(data["factors"][0]["added"]) <= timezone.now()
    assert data["factors"][0]["last_used"] is None
    assert data["policy"]["source"] == "application" and data["policy"]["tenant"] is None
    assert set(data["policy"]["settings"]) == set(POLICY_FIELDS)
    assert data["policy"]["settings"]["allowed_factors"] == {
        "value": ["TOTP", "WEBAUTHN", "SMS", "EMAIL"],
        "from": "application",
    }
    assert data["lockout"] == {"failed_attempts": 0, "locked_until": None}
    assert data["bypass"] is None
    assert data["events"][0]["kind"] == "decision"
    assert totp.key not in out and "4155552671" not in out


def test_status_shows_the_tenant_the_staff_rule_a_lock_and_a_bypass(app_policy):
    member = MembershipFactory(user=StaffFactory()).user
    tenant = member.membership.organization
    services.update_policy(tenant, issuer="Acme", requirement=Requirement.OPTIONAL)
    until = timezone.now() + timedelta(hours=3)
    UserState.objects.create(user=member, failed_attempts=21, locked_until=until)
    services.grant_bypass(member, until, "Lost phone; checked by video", actor=StaffFactory())

    data = json.loads(run("mfa_status", member.get_username(), "--json"))
    assert data["policy"]["requirement"] == "REQUIRED"
    assert data["policy"]["source"] == "tenant" and data["policy"]["tenant"] == tenant.name
    assert data["policy"]["staff_rule"] is True
    assert data["policy"]["settings"]["requirement"]["from"] == "staff_rule"
    assert data["policy"]["settings"]["issuer"] == {"value": "Acme", "from": "tenant"}
    assert data["lockout"]["failed_attempts"] == 21
    assert datetime.fromisoformat(data["lockout"]["locked_until"]) == until
    assert data["bypass"]["reason"] == "Lost phone; checked by video"

    out = run("mfa_status", member.get_username())
    assert f"(tenant policy: {tenant.name}, raised to REQUIRED by the staff rule)" in out
    assert "Wrong answers in a row: 21; locked until" in out
    assert "Bypass until" in out and "Lost phone; checked by video" in out


def test_status_by_primary_key(user):
    data = json.loads(run("mfa_status", str(user.pk), "--id", "--json"))
    assert data["user"]["username"] == user.get_username()


@pytest.mark.parametrize("args", [["nobody@example.com"], ["nobody"], ["not-a-pk", "--id"]])
def test_status_of_an_unknown_user_is_an_error(db, args):
    with pytest.raises(CommandError, match="No user with"):
        run("mfa_status", *args)


def test_an_unknown_user_exits_non_zero_from_the_command_line(db, capsys):
    with pytest.raises(SystemExit) as exited:
        StatusCommand().run_from_argv(["manage.py", "mfa_status", "nobody"])
    assert exited.value.code == 1
    assert "No user with" in capsys.readouterr().err


# --- mfa_reset ------------------------------------------------------------------------------


def test_reset_removes_everything_and_is_audited(enrolled):
    user, _totp = enrolled
    device = remember(user)
    pending = services.start_challenge(user)

    out = run("mfa_reset", user.get_username(), "--no-input")

    assert "removed 2 factors and 10 recovery codes, revoked 1 remembered device" in out
    assert services.list_factors(user) == []
    assert not RecoveryCodeSet.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(code_set__user=user).exists()
    assert not services.is_pending(user, pending.pk)
    device.refresh_from_db()
    assert device.revoked_at is not None
    event = MFAEvent.objects.get(user=user, kind=MFAEvent.Kind.RESET)
    assert event.actor == "" and event.details == {"via": "command"}
    assert not services.mfa_status(user).enabled


def test_reset_by_a_staff_member_records_them(totp_user):
    staff = StaffFactory()
    run("mfa_reset", totp_user.get_username(), "--yes", "--by", staff.get_username())
    event = MFAEvent.objects.get(user=totp_user, kind=MFAEvent.Kind.RESET)
    assert event.actor == staff.get_username()
    assert event.details == {"via": "command"}


@pytest.mark.parametrize("by", ["plain", "inactive-staff", "nobody"])
def test_reset_by_someone_not_active_staff_is_refused(totp_user, by):
    actors = {
        "plain": lambda: UserFactory().get_username(),
        "inactive-staff": lambda: StaffFactory(is_active=False).get_username(),
        "nobody": lambda: "nobody@example.com",
    }
    with pytest.raises(CommandError):
        run("mfa_reset", totp_user.get_username(), "--no-input", "--by", actors[by]())
    assert TOTPFactor.objects.filter(user=totp_user).exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.RESET).exists()


def test_reset_asks_and_a_no_changes_nothing(totp_user):
    with pytest.raises(CommandError, match="cancelled"):
        run("mfa_reset", totp_user.get_username(), stdin=TTY("no\n"))
    assert TOTPFactor.objects.filter(user=totp_user).exists()
    assert not MFAEvent.objects.filter(kind=MFAEvent.Kind.RESET).exists()


def test_reset_without_a_terminal_needs_no_input(totp_user):
    with pytest.raises(CommandError, match="--no-input"):
        run("mfa_reset", totp_user.get_username(), stdin=io.StringIO("yes\n"))
    assert TOTPFactor.objects.filter(user=totp_user).exists()


def test_reset_goes_ahead_on_yes(totp_user):
    out = run("mfa_reset", totp_user.get_username(), stdin=TTY("yes\n"))
    assert "Type 'yes' to continue" in out and "removed 1 factor" in out
    assert not TOTPFactor.objects.filter(user=totp_user).exists()


def test_reset_of_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user with"):
        run("mfa_reset", "nobody@example.com", "--no-input")


# --- mfa_policy -----------------------------------------------------------------------------


def test_policy_show_lists_every_setting(app_policy):
    out = run("mfa_policy")
    assert "Application policy" in out
    for name in POLICY_FIELDS:
        assert f"  {name} " in out
    assert "allowed_factors          TOTP, WEBAUTHN" in out
    assert "issuer                   (the site's name)" in out

    data = json.loads(run("mfa_policy", "show", "--json"))
    assert data["scope"] == "application" and data["override"] is None
    assert data["policy"] == services.policy_values(app_policy)


def test_policy_set_changes_the_application_policy(app_policy, user):
    out = run(
        "mfa_policy",
        "set",
        "--mode",
        "required",
        "--allowed-factors",
        "totp, webauthn,SMS",
        "--recovery-codes-count",
        "12",
        "--grace-days",
        "7",
        "--trusted-devices-enabled",
        "no",
        "--issuer",
        "Example Corp",
    )
    assert "Saved the application policy." in out
    assert "requirement              REQUIRED" in out
    policy = policy_for(user)
    assert policy.required and policy.grace_period_days == 7
    assert policy.allowed_factors == {"TOTP", "WEBAUTHN", "SMS"}
    assert policy.recovery_codes_count == 12
    assert not policy.trusted_devices_enabled and policy.issuer == "Example Corp"


@pytest.mark.parametrize(
    "bad",
    [
        ["--allowed-factors", "TOTP,FAX"],
        ["--recovery-codes-count", "-1"],
        ["--recovery-codes-count", "21"],
        ["--grace-period-days", "-3"],
        ["--trusted-device-days", "lots"],
        ["--mode", "SOMETIMES"],
        ["--risk-new-device", "maybe"],
        ["--mode", "REQUIRED", "--allowed-factors", ""],
    ],
)
def test_policy_set_refuses_bad_values_and_changes_nothing(app_policy, bad):
    before = services.policy_values(app_policy)
    with pytest.raises(CommandError):
        run("mfa_policy", "set", "--issuer", "Changed", *bad)
    app_policy.refresh_from_db()
    assert services.policy_values(app_policy) == before


def test_policy_errors_name_every_bad_setting(app_policy):
    with pytest.raises(CommandError) as caught:
        run("mfa_policy", "set", "--recovery-codes-count", "21", "--allowed-factors", "TOTP,FAX")
    lines = str(caught.value).splitlines()
    assert lines[0] == "Nothing was changed:"
    assert sorted(lines[1:]) == [
        "  allowed-factors: Unknown factor type: FAX. Choose from TOTP, WEBAUTHN, SMS, EMAIL.",
        "  recovery-codes-count: Ensure this value is less than or equal to 20.",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set"], "Nothing to set"),
        (["show", "--mode", "REQUIRED"], "use 'mfa_policy set"),
        (["set", "--override", "on"], "--override needs --tenant"),
        (["--tenant", "No such org"], "No tenant"),
    ],
)
def test_policy_usage_errors(app_policy, args, message):
    with pytest.raises(CommandError, match=message):
        run("mfa_policy", *args)


def test_setting_a_tenant_value_overrides_for_its_users_only(app_policy, user):
    member = MembershipFactory().user
    tenant = member.membership.organization
    assert not policy_for(member).required

    out = run("mfa_policy", "set", "--tenant", tenant.name, "--mode", "REQUIRED")

    assert f"Saved the policy of tenant {tenant.name}." in out
    assert f"Tenant policy of {tenant.name} (override on)" in out
    assert policy_for(member).required and policy_for(member).source == "tenant"
    assert not policy_for(user).required
    # The tenant policy started from the application policy's values.
    stored = TenantPolicy.objects.get(tenant=tenant)
    assert services.policy_values(stored) == {
        **services.policy_values(app_policy),
        "requirement": "REQUIRED",
    }

    data = json.loads(run("mfa_policy", "--tenant", str(tenant.pk), "--json"))
    assert data["scope"] == "tenant" and data["override"] is True
    assert data["tenant"] == {"id": str(tenant.pk), "name": tenant.name}
    assert data["policy"]["requirement"] == "REQUIRED"


def test_turning_a_tenant_override_off(app_policy):
    member = MembershipFactory().user
    tenant = member.membership.organization
    run("mfa_policy", "set", "--tenant", tenant.name, "--mode", "REQUIRED")

    out = run("mfa_policy", "set", "--tenant", tenant.name, "--override", "off")

    assert "(override off)" in out and "Not in force" in out
    assert not policy_for(member).required and policy_for(member).source == "application"
    assert TenantPolicy.objects.get(tenant=tenant).requirement == Requirement.REQUIRED


def test_a_bad_tenant_value_creates_no_tenant_policy(app_policy):
    tenant = MembershipFactory().user.membership.organization
    with pytest.raises(CommandError):
        run("mfa_policy", "set", "--tenant", tenant.name, "--grace-days", "-1")
    assert not TenantPolicy.objects.exists()


def test_showing_a_tenant_without_a_policy(app_policy):
    tenant = MembershipFactory().user.membership.organization
    out = run("mfa_policy", "--tenant", tenant.name)
    assert "no tenant policy" in out and "follow the application policy" in out
    assert json.loads(run("mfa_policy", "--tenant", tenant.name, "--json"))["policy"] is None


# --- mfa_cleanup ----------------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def sent_code(user, expires_at) -> SentCode:
    return SentCode.objects.create(
        user=user,
        factor_type="SMS",
        purpose=SentCode.Purpose.ENROLL,
        destination_digest="d",
        digest="x",
        sent_at=expires_at - timedelta(minutes=10),
        expires_at=expires_at,
    )


def challenge(user, expires_at, **fields) -> Challenge:
    return Challenge.objects.create(
        user=user, created_at=expires_at - timedelta(minutes=10), expires_at=expires_at, **fields
    )


def trusted(user, digest, expires_at, revoked_at=None) -> TrustedDevice:
    return TrustedDevice.objects.create(
        user=user,
        token_digest=digest,
        created_at=expires_at - timedelta(days=30),
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def login_record(user, created_at, browser_token="", network="203.0.113.0/24") -> LoginRecord:
    return LoginRecord.objects.create(
        user=user,
        device_digest=devices.token_digest(browser_token),
        network=network,
        created_at=created_at,
    )


def event(user, created_at) -> MFAEvent:
    with time_machine.travel(created_at, tick=False):
        return events.record(MFAEvent.Kind.VERIFIED, user, factor_type="TOTP")


@pytest.fixture
def rows(db, clock):
    """Stale and live rows of every kind that mfa_cleanup looks at."""
    user = UserFactory()
    browser_a, browser_b, browser_c = "a" * 43, "b" * 43, "c" * 43
    stale = [
        sent_code(user, ago(days=2)),
        RateLimit.objects.create(
            key="stale", window_started_at=ago(days=3), last_hit_at=ago(days=2)
        ),
        RateLimit.objects.create(key="never-hit", window_started_at=ago(days=2)),
        challenge(user, ago(days=40), verified_at=ago(days=40)),
        challenge(user, ago(days=31)),
        # Wrong answers, but older than any session that could still point at it.
        challenge(user, ago(days=31), failures=2),
        trusted(user, "expired", ago(days=31)),
        trusted(user, "revoked", NOW + timedelta(days=5), revoked_at=ago(days=31)),
        # An older sign-in from a browser seen since; one without a browser; one whose cookie
        # no browser can still hold.
        login_record(user, ago(days=120), browser_a),
        login_record(user, ago(days=100)),
        login_record(user, ago(days=401), browser_c),
    ]
    live = [
        sent_code(user, NOW + timedelta(minutes=5)),
        sent_code(user, ago(hours=2)),
        RateLimit.objects.create(key="day-window", window_started_at=ago(hours=23), count=9),
        RateLimit.objects.create(
            key="quiet", window_started_at=ago(days=3), last_hit_at=ago(hours=1)
        ),
        challenge(user, NOW + timedelta(minutes=5)),
        challenge(user, ago(days=29), verified_at=ago(days=29)),
        trusted(user, "live", NOW + timedelta(days=5)),
        trusted(user, "recently-revoked", NOW + timedelta(days=5), revoked_at=ago(days=29)),
        trusted(user, "recently-expired", ago(days=29)),
        login_record(user, ago(days=10), browser_a),
        login_record(user, ago(days=89)),
        # The last time browser B was seen: the new-device check still needs it.
        login_record(user, ago(days=300), browser_b),
    ]
    old_event, new_event = event(user, ago(days=400)), event(user, ago(days=1))
    return {"user": user, "stale": stale, "live": live, "events": (old_event, new_event)}


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def test_cleanup_deletes_exactly_the_stale_rows(rows):
    out = run("mfa_cleanup")

    assert [r for r in rows["stale"] if exists(r)] == []
    assert [r for r in rows["live"] if not exists(r)] == []
    assert all(exists(e) for e in rows["events"])
    assert "expired sent codes: 1 deleted" in out
    assert "ended rate-limit windows: 2 deleted" in out
    assert "challenges ended over 30 days ago: 3 deleted" in out
    assert "remembered devices expired or revoked over 30 days ago: 2 deleted" in out
    assert "sign-in records the risk checks no longer use: 3 deleted" in out
    assert "audit events: kept" in out
    assert f"Deleted {len(rows['stale'])} rows." in out
    # Nothing left to do.
    assert "Deleted 0 rows." in run("mfa_cleanup")


def test_cleanup_in_small_batches_deletes_the_same(rows):
    run("mfa_cleanup", "--batch-size", "1")
    assert [r for r in rows["stale"] if exists(r)] == []
    assert [r for r in rows["live"] if not exists(r)] == []


def test_a_dry_run_counts_and_deletes_nothing(rows):
    out = run("mfa_cleanup", "--dry-run", "--events-days", "365")
    assert "expired sent codes: 1 would be deleted" in out
    assert "audit events over 365 days old: 1 would be deleted" in out
    assert f"Dry run: {len(rows['stale']) + 1} rows would be deleted." in out
    assert all(exists(r) for r in rows["stale"] + rows["live"])
    assert all(exists(e) for e in rows["events"])


def test_audit_events_only_go_when_asked(rows):
    old_event, new_event = rows["events"]
    run("mfa_cleanup", "--events-days", "365")
    assert not exists(old_event) and exists(new_event)


def test_the_days_option_moves_the_cutoff(rows):
    run("mfa_cleanup", "--days", "1")
    recent = [r for r in rows["live"] if isinstance(r, Challenge | TrustedDevice)]
    assert [exists(r) for r in recent] == [True, False, True, False, False]


@override_settings(SESSION_COOKIE_AGE=60 * 24 * 3600)
def test_a_challenge_with_wrong_answers_stays_while_a_session_could_hold_it(rows):
    run("mfa_cleanup")
    kept = [r for r in rows["stale"] if exists(r)]
    assert len(kept) == 1 and kept[0].failures == 2


def test_a_browser_seen_long_ago_is_still_known_after_cleanup(rows):
    user = rows["user"]
    # Browser B got its signed cookie 300 days ago, when it last signed in.
    with time_machine.travel(ago(days=300), tick=False):
        signer = signing.get_cookie_signer(
            salt=app_settings.DEVICE_COOKIE_NAME + devices.COOKIE_SALT
        )
        cookie = signer.sign("b" * 43)
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.COOKIES[app_settings.DEVICE_COOKIE_NAME] = cookie
    context = risk.RiskContext(user, request, policy_for(user))

    run("mfa_cleanup")

    assert risk.new_device(context) is None
    assert risk.new_location(context) is None


def test_a_deleted_rate_limit_counts_as_an_ended_window(rows):
    limit = throttle.Limit("stale", max_hits=1, window=timedelta(days=1))
    run("mfa_cleanup")
    throttle.hit([limit])
    with pytest.raises(errors.RateLimited):
        throttle.hit([limit])


@pytest.mark.parametrize("args", [["--days", "-1"], ["--events-days", "0"], ["--batch-size", "0"]])
def test_cleanup_refuses_bad_options(db, args):
    with pytest.raises(CommandError):
        run("mfa_cleanup", *args)
