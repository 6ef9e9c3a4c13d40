"""The staff API: who may call it, what it changes (audited, notified), what it refuses."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from mfa_app import login_state, services
from mfa_app.models import (
    ApplicationPolicy,
    MFAEvent,
    RecoveryCode,
    SMSFactor,
    TenantPolicy,
    TOTPFactor,
    UserState,
)

from .conftest import mark_mfa_verified
from .factories import (
    MembershipFactory,
    OrganizationFactory,
    SMSFactorFactory,
    StaffFactory,
    TOTPFactorFactory,
    UserFactory,
)
from .test_api import Api, error_of, pending_api, signed_in_api, url

Kind = MFAEvent.Kind
STALE = timedelta(minutes=6)
USER_OPTS = get_user_model()._meta


def grant(user, *codenames: str) -> None:
    """Give ``user`` Django permissions by codename (``"user"`` names the user model's)."""
    for codename in codenames:
        action, _sep, model = codename.partition("_")
        app_label = "mfa_app"
        if model == "user":
            app_label, model = USER_OPTS.app_label, USER_OPTS.model_name
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
        )


def staff_api(user) -> Api:
    if not TOTPFactor.objects.filter(user=user).exists():
        TOTPFactorFactory(user=user)
    return signed_in_api(user)


@pytest.fixture
def admin_user(db):
    return StaffFactory()


@pytest.fixture
def api(admin_user):
    return staff_api(admin_user)


@pytest.fixture
def enrolled(allow_codes):
    """A user with an app, a phone and recovery codes."""
    user = TOTPFactorFactory(name="Work app").user
    SMSFactorFactory(user=user, is_primary=False)
    codes = services.recovery_codes_after_enrollment(user)
    return user, codes


def events_of(kind):
    return list(MFAEvent.objects.filter(kind=kind))


# --- who may call it ------------------------------------------------------------------------


def test_an_anonymous_client_is_not_authenticated(enrolled):
    user, _codes = enrolled
    response = Api().get("staff_user", str(user.pk))
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_a_pending_login_gets_its_status_and_reaches_nothing(admin_user, enrolled):
    TOTPFactorFactory(user=admin_user)
    api = pending_api(admin_user)
    user, _codes = enrolled
    for response in (
        api.get("staff_user", str(user.pk)),
        api.post("staff_user_reset", None, str(user.pk)),
        api.get("staff_events"),
    ):
        assert response.status_code == 401
        assert response.json()["status"] == "MFA_REQUIRED"
    assert TOTPFactor.objects.filter(user=user).exists()


def test_a_user_who_is_not_staff_is_refused_even_with_permissions(enrolled):
    someone = UserFactory()
    grant(someone, "view_user", "view_userstate", "change_user", "change_userstate")
    api = staff_api(someone)
    user, _codes = enrolled
    for response in (
        api.get("staff_user", str(user.pk)),
        api.post("staff_user_reset", None, str(user.pk)),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"
    assert TOTPFactor.objects.filter(user=user).exists()


def test_staff_need_the_permission_each_operation_names(enrolled):
    viewer = UserFactory(is_staff=True)
    grant(viewer, "view_user", "view_userstate")
    api = staff_api(viewer)
    user, _codes = enrolled
    assert api.get("staff_user", str(user.pk)).status_code == 200
    refused = (
        api.post("staff_user_reset", None, str(user.pk)),
        api.post("staff_user_bypass", {"until": "2100-01-01T00:00", "reason": "x"}, str(user.pk)),
        api.get("staff_policy"),
        api.patch("staff_policy", {"requirement": "REQUIRED"}),
        api.get("staff_events"),
    )
    for response in refused:
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"
    assert TOTPFactor.objects.filter(user=user).exists()
    assert ApplicationPolicy.load().requirement == "OPTIONAL"
    assert not events_of(Kind.RESET)


def test_the_mfa_permission_alone_is_not_enough_without_the_user_models(enrolled):
    # The admin asks for the user model's permission before its MFA actions: so does the API.
    staff = UserFactory(is_staff=True)
    grant(staff, "view_userstate", "change_userstate")
    api = staff_api(staff)
    user, _codes = enrolled
    assert error_of(api.get("staff_user", str(user.pk)))["code"] == "permission_denied"
    assert api.post("staff_user_reset", None, str(user.pk)).status_code == 403
    assert TOTPFactor.objects.filter(user=user).exists()


def test_the_change_permission_also_lets_staff_read(enrolled):
    staff = UserFactory(is_staff=True)
    grant(staff, "change_user", "change_userstate")
    user, _codes = enrolled
    assert staff_api(staff).get("staff_user", str(user.pk)).status_code == 200


def test_a_session_that_did_not_pass_mfa_must_step_up(api, admin_user, enrolled):
    session = api.client.session
    del session[login_state.VERIFIED_KEY]
    session.save()
    user, _codes = enrolled
    for response in (
        api.get("staff_user", str(user.pk)),
        api.post("staff_user_reset", None, str(user.pk)),
    ):
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "reauthentication_required"
        assert error["reauthenticate_with"] == "challenge"
    assert TOTPFactor.objects.filter(user=user).exists()


def test_staff_without_a_factor_are_told_to_add_one(api, admin_user, enrolled):
    session = api.client.session
    del session[login_state.VERIFIED_KEY]
    session.save()
    TOTPFactor.objects.filter(user=admin_user).delete()
    user, _codes = enrolled
    response = api.get("staff_user", str(user.pk))
    assert response.status_code == 403
    assert error_of(response)["code"] == "mfa_enrollment_required"


def test_writes_need_a_recent_mfa_reads_do_not(api, enrolled):
    user, _codes = enrolled
    with time_machine.travel(timezone.now() + STALE):
        assert api.get("staff_user", str(user.pk)).status_code == 200
        response = api.post("staff_user_reset", None, str(user.pk))
        assert response.status_code == 403
        assert error_of(response)["code"] == "reauthentication_required"
        assert TOTPFactor.objects.filter(user=user).exists()
        mark_mfa_verified(api.client)
        assert api.post("staff_user_reset", None, str(user.pk)).status_code == 200
    assert not TOTPFactor.objects.filter(user=user).exists()


def test_a_write_without_the_csrf_token_is_refused(api, enrolled):
    user, _codes = enrolled
    response = api.post("staff_user_reset", None, str(user.pk), token="wrong")
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"
    assert TOTPFactor.objects.filter(user=user).exists()


# --- a user's status ------------------------------------------------------------------------


def test_staff_read_a_users_status_without_any_secret(api, enrolled):
    user, codes = enrolled
    response = api.get("staff_user", str(user.pk))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["user"] == {"id": str(user.pk), "username": user.get_username()}
    assert body["enabled"] is True
    assert [(f["type"], f["name"]) for f in body["factors"]] == [
        ("TOTP", "Work app"),
        ("SMS", "Mobile"),
    ]
    assert body["recovery_codes_remaining"] == len(codes)
    assert body["policy"]["settings"]["requirement"] == {"value": "OPTIONAL", "from": "application"}
    assert body["bypass"] is None
    assert "events" not in body
    content = response.content.decode()
    assert TOTPFactor.objects.get(user=user).key not in content
    assert "+14155552671" not in content
    assert not any(code in content for code in codes)


def test_the_status_says_the_staff_rule_raised_a_staff_members_policy(api, admin_user):
    body = api.get("staff_user", str(admin_user.pk)).json()
    assert body["policy"]["staff_rule"] is True
    assert body["policy"]["settings"]["requirement"] == {"value": "REQUIRED", "from": "staff_rule"}


@pytest.mark.parametrize("user_id", ["999999", "abc", "1e3", "-1", "99999999999999999999999"])
def test_an_unknown_user_is_not_found(api, user_id):
    for response in (
        api.get("staff_user", user_id),
        api.post("staff_user_reset", None, user_id),
        api.delete("staff_user_bypass", user_id),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "user_not_found"
    assert not MFAEvent.objects.filter(actor__gt="").exists()


# --- reset ----------------------------------------------------------------------------------


def test_a_reset_removes_every_factor_and_is_audited_and_notified(
    api, admin_user, enrolled, django_capture_on_commit_callbacks
):
    user, _codes = enrolled
    bystander = TOTPFactorFactory().user
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("staff_user_reset", None, str(user.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["factors"] == [] and body["recovery_codes_remaining"] == 0
    assert not TOTPFactor.objects.filter(user=user).exists()
    assert not SMSFactor.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(code_set__user=user).exists()
    (event,) = events_of(Kind.RESET)
    assert event.user == user
    assert event.actor == admin_user.get_username()
    assert event.details == {"via": "api"}
    assert [m.to for m in mail.outbox if "was reset" in m.subject] == [[user.email]]
    assert TOTPFactor.objects.filter(user=bystander).exists()


def test_staff_cannot_reset_a_superuser_unless_they_are_one(enrolled):
    staff = UserFactory(is_staff=True)
    grant(staff, "change_user", "change_userstate")
    boss = TOTPFactorFactory(user=StaffFactory()).user
    api = staff_api(staff)
    response = api.post("staff_user_reset", None, str(boss.pk))
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    bypass = {"until": (timezone.now() + timedelta(days=1)).isoformat(), "reason": "lost phone"}
    assert api.post("staff_user_bypass", bypass, str(boss.pk)).status_code == 403
    assert TOTPFactor.objects.filter(user=boss).exists()
    assert services.active_bypass(boss) is None
    user, _codes = enrolled
    assert api.post("staff_user_reset", None, str(user.pk)).status_code == 200


# --- bypass ---------------------------------------------------------------------------------


def test_staff_grant_and_end_a_bypass(api, admin_user, enrolled):
    user, _codes = enrolled
    until = timezone.now() + timedelta(days=2)
    response = api.post(
        "staff_user_bypass", {"until": until.isoformat(), "reason": "Lost phone"}, str(user.pk)
    )
    assert response.status_code == 201
    bypass = response.json()["bypass"]
    assert bypass["reason"] == "Lost phone"
    assert bypass["granted_by"] == admin_user.get_username()
    assert services.active_bypass(user).bypass_until == until
    (event,) = events_of(Kind.BYPASS_GRANTED)
    assert event.actor == admin_user.get_username()
    assert api.delete("staff_user_bypass", str(user.pk)).status_code == 204
    assert services.active_bypass(user) is None
    assert events_of(Kind.BYPASS_ENDED)[0].actor == admin_user.get_username()
    response = api.delete("staff_user_bypass", str(user.pk))
    assert response.status_code == 404
    assert error_of(response)["code"] == "bypass_not_found"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"until": "+31d", "reason": "Lost phone"}, "invalid_bypass", None),
        ({"until": "-1d", "reason": "Lost phone"}, "invalid_bypass", None),
        ({"until": "+1d", "reason": "   "}, "invalid_bypass", None),
        ({"until": "+1d"}, "invalid_bypass", None),
        ({"until": "tomorrow", "reason": "Lost phone"}, "invalid_request", "until"),
        ({"until": "2026-02-30T10:00", "reason": "Lost phone"}, "invalid_request", "until"),
        ({"until": 1234, "reason": "Lost phone"}, "invalid_request", "until"),
        (
            {"until": "0001-01-01T00:00:00+14:00", "reason": "Lost phone"},
            "invalid_request",
            "until",
        ),
        (
            {"until": "9999-12-31T23:59:59-12:00", "reason": "Lost phone"},
            "invalid_request",
            "until",
        ),
        ({"reason": "Lost phone"}, "invalid_request", "until"),
        ({"until": "+1d", "reason": "x" * 301}, "invalid_request", "reason"),
        ({"until": "+1d", "reason": "a\x00b"}, "invalid_request", "reason"),
    ],
)
def test_a_bad_bypass_is_refused_and_changes_nothing(api, enrolled, body, code, field):
    user, _codes = enrolled
    if isinstance(body.get("until"), str) and body["until"][0] in "+-":
        days = int(body["until"][:-1])
        body = {**body, "until": (timezone.now() + timedelta(days=days)).isoformat()}
    response = api.post("staff_user_bypass", body, str(user.pk))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert error.get("field") == field
    assert not UserState.objects.filter(user=user, bypass_until__isnull=False).exists()
    assert not events_of(Kind.BYPASS_GRANTED)


def test_nobody_grants_themselves_a_bypass(api, admin_user):
    until = (timezone.now() + timedelta(days=1)).isoformat()
    response = api.post("staff_user_bypass", {"until": until, "reason": "me"}, str(admin_user.pk))
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_bypass"
    assert services.active_bypass(admin_user) is None


# --- policies -------------------------------------------------------------------------------


def test_staff_read_and_change_the_application_policy(api, admin_user):
    body = api.get("staff_policy").json()
    assert body["scope"] == "application"
    assert body["policy"]["requirement"] == "OPTIONAL"
    response = api.patch(
        "staff_policy",
        {
            "requirement": "REQUIRED",
            "allowed_factors": ["WEBAUTHN", "TOTP"],
            "grace_period_days": 3,
        },
    )
    assert response.status_code == 200
    policy = response.json()["policy"]
    assert policy["requirement"] == "REQUIRED"
    assert policy["allowed_factors"] == ["TOTP", "WEBAUTHN"]
    stored = ApplicationPolicy.load()
    assert (stored.requirement, stored.grace_period_days) == ("REQUIRED", 3)
    (event,) = events_of(Kind.POLICY_CHANGED)
    assert event.actor == admin_user.get_username()
    assert event.details["via"] == "api"
    assert event.details["changes"]["requirement"] == {"before": "OPTIONAL", "after": "REQUIRED"}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"requirement": "NOPE"}, "invalid_policy", "requirement"),
        ({"requirement": 1}, "invalid_policy", "requirement"),
        ({"recovery_codes_count": 21}, "invalid_policy", "recovery_codes_count"),
        ({"recovery_codes_count": 0}, "invalid_policy", "recovery_codes_count"),
        ({"recovery_codes_count": "10"}, "invalid_policy", "recovery_codes_count"),
        ({"recovery_codes_count": True}, "invalid_policy", "recovery_codes_count"),
        ({"recovery_codes_enabled": "yes"}, "invalid_policy", "recovery_codes_enabled"),
        ({"allowed_factors": ["TOTP", "FAX"]}, "invalid_policy", "allowed_factors"),
        ({"allowed_factors": "TOTP"}, "invalid_policy", "allowed_factors"),
        ({"allowed_factors": []}, "invalid_policy", "allowed_factors"),
        ({"issuer": "x" * 1000}, "invalid_policy", "issuer"),
        ({"issuer": "a\x00b"}, "invalid_policy", "issuer"),
        ({"grace_period_days": -1}, "invalid_policy", "grace_period_days"),
        ({"requirment": "REQUIRED"}, "invalid_policy", "requirment"),
        ({"override": True}, "invalid_policy", "override"),
        ({"requirement": "REQUIRED", "trusted_device_days": 10**30}, "invalid_policy", None),
        ({}, "invalid_request", None),
        ([], "invalid_request", None),
    ],
)
def test_a_bad_policy_value_is_refused_and_changes_nothing(api, body, code, field):
    before = api.get("staff_policy").json()
    response = api.patch("staff_policy", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field
    assert api.get("staff_policy").json() == before
    assert not events_of(Kind.POLICY_CHANGED)


def test_a_tenants_policy_is_created_from_the_applications_and_overrides(api, admin_user):
    tenant = OrganizationFactory()
    member = MembershipFactory(organization=tenant).user
    body = api.get("staff_tenant_policy", str(tenant.pk)).json()
    assert body["tenant"] == {"id": str(tenant.pk), "name": tenant.name}
    assert body["policy"] is None and body["override"] is None
    response = api.patch("staff_tenant_policy", {"requirement": "REQUIRED"}, str(tenant.pk))
    assert response.status_code == 200
    assert response.json()["override"] is True
    assert services.explain_policy(member).policy.requirement == "REQUIRED"
    response = api.patch("staff_tenant_policy", {"override": False}, str(tenant.pk))
    assert response.json()["override"] is False
    assert response.json()["policy"]["requirement"] == "REQUIRED"
    assert services.explain_policy(member).policy.requirement == "OPTIONAL"
    assert [e.actor for e in events_of(Kind.POLICY_CHANGED)] == [admin_user.get_username()] * 2


def test_creating_a_tenant_policy_needs_the_add_permission_as_in_the_admin(db):
    staff = UserFactory(is_staff=True)
    grant(staff, "view_tenantpolicy", "change_tenantpolicy")
    api = staff_api(staff)
    tenant = OrganizationFactory()
    response = api.patch("staff_tenant_policy", {"requirement": "REQUIRED"}, str(tenant.pk))
    assert response.status_code == 403
    assert not TenantPolicy.objects.exists()
    grant(staff, "add_tenantpolicy")
    response = api.patch("staff_tenant_policy", {"requirement": "REQUIRED"}, str(tenant.pk))
    assert response.status_code == 200


def test_an_unknown_tenant_is_not_found(api):
    for response in (
        api.get("staff_tenant_policy", "999999"),
        api.patch("staff_tenant_policy", {"requirement": "REQUIRED"}, "nope"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "tenant_not_found"
    assert not TenantPolicy.objects.exists()


def test_a_tenant_policy_in_force_must_allow_a_factor(api):
    tenant = OrganizationFactory()
    response = api.patch(
        "staff_tenant_policy", {"requirement": "REQUIRED", "allowed_factors": []}, str(tenant.pk)
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "allowed_factors"
    assert not TenantPolicy.objects.exists()


# --- the audit log --------------------------------------------------------------------------


def events_page(api, **query):
    return api.client.get(f"{url('staff_events')}?{urlencode(query)}")


def test_the_audit_log_is_filtered_and_paged_newest_first(api, enrolled):
    user, _codes = enrolled
    other = UserFactory()
    start = timezone.now()
    for minutes in range(5):
        moment = start + timedelta(minutes=minutes + 1)
        MFAEvent.objects.create(kind=Kind.FAILED, user=user, created_at=moment)
        MFAEvent.objects.create(kind=Kind.VERIFIED, user=user, created_at=moment)
        MFAEvent.objects.create(kind=Kind.FAILED, user=other, created_at=moment)
    expected = list(
        MFAEvent.objects.filter(user=user, kind=Kind.FAILED)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    seen, cursor, pages = [], None, 0
    while True:
        query = {"user": str(user.pk), "kind": "failed", "page_size": "2"}
        response = events_page(api, **query, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200
        body = response.json()
        pages += 1
        assert len(body["events"]) <= 2
        seen += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # An event written while staff read neither shifts nor repeats the next page.
        MFAEvent.objects.create(kind=Kind.FAILED, user=user, created_at=start + STALE)
    assert [e["id"] for e in seen] == expected
    assert pages == 3
    assert all(e["user_id"] == str(user.pk) and e["kind"] == "failed" for e in seen)
    window = {
        "since": (start + timedelta(minutes=2)).isoformat(),
        "until": (start + timedelta(minutes=4)).isoformat(),
        "kind": "failed,verified",
        "user": str(user.pk),
    }
    body = events_page(api, **window).json()
    assert len(body["events"]) == 4 and body["next_cursor"] is None


def test_the_audit_log_never_shows_a_code_or_a_secret(api, enrolled, sms_outbox):
    user, _codes = enrolled
    phone = SMSFactor.objects.get(user=user)
    codes = services.regenerate_recovery_codes(user)
    challenge = services.start_challenge(user)
    services.send_challenge_code(user, challenge.pk, "SMS", phone.pk, None)
    (sent,) = sms_outbox
    response = events_page(api, user=str(user.pk))
    kinds = {e["kind"] for e in response.json()["events"]}
    assert {"recovery_codes_generated", "challenged", "code_sent"} <= kinds
    content = response.content.decode()
    assert TOTPFactor.objects.get(user=user).key not in content
    assert "+14155552671" not in content
    assert not any(code in content for code in codes)
    assert str(challenge.pk) not in content
    sent_code = re.search(r"\b(\d{6})\b", sent.body).group(1)
    assert sent_code not in content


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "nope"}, "kind"),
        ({"kind": "failed,"}, "kind"),
        ({"user": "abc"}, "user"),
        ({"user": "999999"}, "user"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45T00:00"}, "until"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"until": "9999-12-31T23:59:59-12:00"}, "until"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "²"}, "page_size"),
        ({"cursor": "forged"}, "cursor"),
        ({"usr": "1"}, "usr"),
        ({"tenant": "a\x00b"}, "tenant"),
    ],
)
def test_a_bad_filter_or_page_is_refused(api, query, field):
    response = events_page(api, **query)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_query"
    assert error["field"] == field


def test_a_cursor_from_another_list_is_refused_if_tampered(api, enrolled):
    user, _codes = enrolled
    for _ in range(3):
        MFAEvent.objects.create(kind=Kind.FAILED, user=user, created_at=timezone.now())
    cursor = events_page(api, page_size="1").json()["next_cursor"]
    assert events_page(api, page_size="1", cursor=cursor).status_code == 200
    response = events_page(api, page_size="1", cursor=cursor[:-2] + "xx")
    assert error_of(response)["code"] == "invalid_query"
