"""Several factors per user: the security page lists, renames, sets primary and removes them."""

import pytest
from django.urls import reverse

from mfa_app import errors, services
from mfa_app.models import EmailFactor, Requirement, SMSFactor, TOTPFactor

from .conftest import password_login, sent_prompt
from .factories import (
    EmailFactorFactory,
    SMSFactorFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

SECURITY = reverse("mfa_app:security")
CHALLENGE = reverse("mfa_app:challenge")


pytestmark = pytest.mark.usefixtures("allow_codes")


@pytest.fixture
def totp(db):
    return TOTPFactorFactory(name="Authy")


@pytest.fixture
def phone(totp):
    return SMSFactorFactory(user=totp.user, name="Work phone", is_primary=False)


@pytest.fixture
def address(totp):
    return EmailFactorFactory(user=totp.user, name="Inbox", is_primary=False)


@pytest.fixture
def signed_in(client, totp, phone, address):
    sign_in(client, totp)
    return client


def sign_in(client, totp) -> None:
    password_login(client, totp.user)
    response = client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(totp)})
    assert response.status_code == 302


def url(name: str, device) -> str:
    return reverse(f"mfa_app:{name}", args=[services.factor_type_of(device), device.pk])


def test_the_security_page_lists_every_factor_with_where_it_sends(signed_in, totp, address):
    page = signed_in.get(SECURITY).content.decode()
    for name in ("Authy", "Work phone", "Inbox"):
        assert name in page
    assert "***-***-2671" in page
    assert address.masked_destination in page
    table = page[page.index("mfa-table") :]
    assert "+14155552671" not in table and totp.user.email not in table
    assert page.index("Authy") < page.index("Work phone")  # the primary first
    assert page.count("Make primary") == 2


def test_the_enrollment_chooser_offers_what_the_policy_allows(signed_in, allow_codes, address):
    page = signed_in.get(reverse("mfa_app:enroll")).content.decode()
    # Another phone, yes; the account's one address is a factor already.
    assert reverse("mfa_app:enroll_sms") in page
    assert reverse("mfa_app:enroll_email") not in page
    assert (
        "your account has no other address"
        in signed_in.get(reverse("mfa_app:enroll_email")).content.decode()
    )
    address.delete()
    page = signed_in.get(reverse("mfa_app:enroll")).content.decode()
    assert reverse("mfa_app:enroll_email") in page
    EmailFactorFactory(user=address.user, is_primary=False)
    allow_codes.allowed_factors = ["TOTP", "SMS"]
    allow_codes.save()
    page = signed_in.get(SECURITY).content.decode()
    assert reverse("mfa_app:enroll_sms") in page
    assert reverse("mfa_app:enroll_email") not in page
    assert "not allowed by policy" in page  # the email factor is kept, and marked


def test_renaming_a_factor(signed_in, phone):
    response = signed_in.post(url("rename_factor", phone), {"name": "  Personal   phone "})
    assert response.status_code == 302
    assert SMSFactor.objects.get(pk=phone.pk).name == "Personal phone"
    assert "Personal phone" in signed_in.get(SECURITY).content.decode()


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_a_bad_name_is_refused_and_the_old_one_kept(signed_in, phone, name):
    response = signed_in.post(url("rename_factor", phone), {"name": name})
    assert response.status_code == 400
    assert SMSFactor.objects.get(pk=phone.pk).name == "Work phone"


def test_the_name_is_escaped_where_it_is_shown(signed_in, phone):
    signed_in.post(url("rename_factor", phone), {"name": "<script>alert(1)</script>"})
    page = signed_in.get(SECURITY).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_setting_the_primary_factor_leaves_exactly_one(signed_in, totp, phone, address):
    response = signed_in.post(url("set_primary_factor", address))
    assert response.status_code == 302
    primaries = [
        *TOTPFactor.objects.filter(user=totp.user, is_primary=True),
        *SMSFactor.objects.filter(user=totp.user, is_primary=True),
        *EmailFactor.objects.filter(user=totp.user, is_primary=True),
    ]
    assert primaries == [address]


def test_the_challenge_starts_with_the_new_primary(client, totp, phone, address):
    services.set_primary_factor(totp.user, phone)
    password_login(client, totp.user)
    page = client.get(CHALLENGE).content.decode()
    assert sent_prompt("***-***-2671") in page
    assert "Use your authenticator app" in page
    assert f'Email a code to <bdi dir="ltr">{address.masked_destination}</bdi>' in page


def test_setting_primary_only_by_post_with_csrf(signed_in, csrf_client, totp, phone):
    assert signed_in.get(url("set_primary_factor", phone)).status_code == 405
    csrf_client.cookies = signed_in.cookies
    assert csrf_client.post(url("set_primary_factor", phone)).status_code == 403
    assert not SMSFactor.objects.get(pk=phone.pk).is_primary


def test_someone_elses_factor_cannot_be_renamed_or_made_primary(signed_in):
    theirs = SMSFactorFactory(user=UserFactory(), name="Theirs", is_primary=False)
    assert signed_in.post(url("rename_factor", theirs), {"name": "Mine"}).status_code == 404
    assert signed_in.post(url("set_primary_factor", theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs" and not theirs.is_primary


@pytest.mark.parametrize("path", ["SMS/abc", "NOPE/1", "RECOVERY/1", "SMS/99999"])
def test_tampered_factor_urls_are_not_found(signed_in, path):
    assert signed_in.get(f"/mfa/factors/{path}/rename/").status_code == 404
    assert signed_in.post(f"/mfa/factors/{path}/primary/").status_code == 404


def test_removing_a_sms_factor_keeps_the_others(signed_in, totp, phone):
    response = signed_in.post(url("remove_factor", phone))
    assert response.status_code == 302
    assert not SMSFactor.objects.filter(pk=phone.pk).exists()
    assert TOTPFactor.objects.filter(pk=totp.pk).exists()


def test_the_only_factor_cannot_be_removed_under_required(client, allow_codes, sms_outbox):
    allow_codes.requirement = Requirement.REQUIRED
    allow_codes.save()
    phone = SMSFactorFactory()
    password_login(client, phone.user)
    client.get(CHALLENGE)
    code = sms_outbox[-1].body[:6]
    assert (
        client.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": code}).status_code
        == 302
    )
    response = client.post(url("remove_factor", phone), follow=True)
    assert "add another factor before removing your last one" in response.content.decode()
    assert SMSFactor.objects.filter(pk=phone.pk).exists()
    with pytest.raises(errors.LastFactorRequired):
        services.remove_factor(phone.user, phone)


def test_a_disallowed_factor_does_not_count_as_the_one_that_remains(client, allow_codes, totp):
    """Under REQUIRED, with SMS no longer allowed, the TOTP factor is the only one that counts."""
    phone = SMSFactorFactory(user=totp.user, is_primary=False)
    allow_codes.requirement = Requirement.REQUIRED
    allow_codes.allowed_factors = ["TOTP"]
    allow_codes.save()
    with pytest.raises(errors.LastFactorRequired):
        services.remove_factor(totp.user, totp)
    services.remove_factor(totp.user, phone)


def test_renaming_and_primary_pages_need_a_signed_in_user(client, phone):
    for response in (
        client.get(url("rename_factor", phone)),
        client.post(url("set_primary_factor", phone)),
    ):
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


def test_a_totp_user_can_still_use_the_app_after_adding_a_phone(client, totp, phone):
    password_login(client, totp.user)
    response = client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(totp)})
    assert response.status_code == 302
