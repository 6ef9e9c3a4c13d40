"""SMS and email codes: sending, confirming, expiry, replacement, cooldown, daily caps, lockout."""

import re
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from mfa_app import errors, services
from mfa_app.models import EmailFactor, MFAEvent, RateLimit, SentCode, SMSFactor

from .conftest import is_logged_in, mark_mfa_verified, password_login, sent_prompt
from .factories import (
    EmailFactorFactory,
    SMSFactorFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

CHALLENGE = reverse("mfa_app:challenge")


ENROLL_SMS = reverse("mfa_app:enroll_sms")
ENROLL_EMAIL = reverse("mfa_app:enroll_email")


pytestmark = pytest.mark.usefixtures("allow_codes")


def sms_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def email_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].subject).group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def text(response) -> str:
    return response.content.decode()


def later(seconds: float) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


# --- enrolling a phone ------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_a_local_number_is_normalised_and_texted_a_code(signed_in, user, sms_outbox):
    response = signed_in.post(ENROLL_SMS, {"send": "1", "destination": "(201) 555-0123"})
    assert response.status_code == 302
    assert [m.to for m in sms_outbox] == ["+12015550123"]
    page = signed_in.get(ENROLL_SMS)
    assert "***-***-0123" in text(page)
    # Not a factor until the code comes back.
    assert not SMSFactor.objects.filter(user=user).exists()


def test_the_factor_is_active_once_the_code_is_confirmed(signed_in, user, sms_outbox):
    signed_in.post(ENROLL_SMS, {"send": "1", "destination": "(201) 555-0123"})
    response = signed_in.post(ENROLL_SMS, {"code": sms_code(sms_outbox)})
    assert response.status_code == 200  # the new recovery codes
    factor = SMSFactor.objects.get(user=user)
    assert str(factor.number) == "+12015550123"
    assert factor.confirmed and factor.is_primary
    assert services.login_requirement(user) == services.CHALLENGE
    assert MFAEvent.objects.filter(user=user, kind="enrolled", factor_type="SMS").exists()


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("(555) 123-4567", "valid phone number"),  # no such area code
        ("12", "valid phone number"),
        ("call me", "valid phone number"),
        ("+1 900 555 0100", "cannot receive text messages"),  # premium rate
        ("+44 20 7946 0958", "cannot receive text messages"),  # a London landline
        ("", "required"),
    ],
)
def test_numbers_that_cannot_get_a_text_are_refused_and_nothing_is_sent(
    signed_in, user, sms_outbox, number, message
):
    response = signed_in.post(ENROLL_SMS, {"send": "1", "destination": number})
    assert response.status_code == 400
    assert message in text(response)
    assert sms_outbox == []
    assert not SentCode.objects.exists()


def test_numbers_outside_the_allowed_regions_are_refused(signed_in, sms_outbox, settings):
    settings.MFA_SMS_ALLOWED_REGIONS = ["US", "CA"]
    response = signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+44 7911 123456"})
    assert response.status_code == 400
    assert "numbers in this country" in text(response)
    assert sms_outbox == []


def test_a_wrong_code_counts_and_the_fifth_voids_the_send(signed_in, user, sms_outbox):
    signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    code = sms_code(sms_outbox)
    for left in (4, 3, 2, 1):
        response = signed_in.post(ENROLL_SMS, {"code": other_code(code)})
        assert response.status_code == 400
        assert f"{left} attempt" in text(response)
    response = signed_in.post(ENROLL_SMS, {"code": other_code(code)})
    assert "Send a new code" in text(response)
    # Even the right code is no good now.
    response = signed_in.post(ENROLL_SMS, {"code": code})
    assert response.status_code == 400
    assert not SMSFactor.objects.filter(user=user).exists()


def test_an_enrollment_code_expires(signed_in, user, sms_outbox, settings):
    settings.MFA_CODE_TIMEOUT = 120
    signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    code = sms_code(sms_outbox)
    with later(121):
        response = signed_in.post(ENROLL_SMS, {"code": code})
    assert response.status_code == 400
    assert "expired" in text(response)
    assert not SMSFactor.objects.filter(user=user).exists()


def test_a_resend_replaces_the_code_of_the_earlier_send(signed_in, user, sms_outbox):
    signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    first = sms_code(sms_outbox)
    with later(31):
        assert signed_in.post(ENROLL_SMS, {"resend": "1"}).status_code == 302
        second = sms_code(sms_outbox)
        assert len(sms_outbox) == 2
        if first != second:
            assert signed_in.post(ENROLL_SMS, {"code": first}).status_code == 400
        assert signed_in.post(ENROLL_SMS, {"code": second}).status_code == 200
    assert SMSFactor.objects.filter(user=user).count() == 1


def test_a_number_cannot_be_added_twice(signed_in, user, sms_outbox):
    SMSFactorFactory(user=user, number="+14155552671")
    mark_mfa_verified(signed_in, "SMS")
    response = signed_in.post(ENROLL_SMS, {"send": "1", "destination": "(415) 555-2671"})
    assert response.status_code == 400
    assert "already use" in text(response)
    assert sms_outbox == []


def test_another_users_number_needs_its_own_code_and_stays_theirs(signed_in, user, sms_outbox):
    """Sharing a number is allowed (a family phone), but only with a code sent to it."""
    theirs = SMSFactorFactory(number="+14155552671")
    signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    assert signed_in.post(ENROLL_SMS, {"code": "123456"}).status_code in (200, 400)
    mine = SMSFactor.objects.filter(user=user).first()
    if mine is None:  # the guess was wrong, as it nearly always is: now the real code
        signed_in.post(ENROLL_SMS, {"code": sms_code(sms_outbox)})
        mine = SMSFactor.objects.get(user=user)
    assert mine.pk != theirs.pk
    assert SMSFactor.objects.get(pk=theirs.pk).user_id == theirs.user_id


def test_the_enrollment_page_is_not_found_when_the_policy_does_not_allow_sms(
    signed_in, allow_codes, sms_outbox
):
    allow_codes.allowed_factors = ["TOTP"]
    allow_codes.save()
    assert signed_in.get(ENROLL_SMS).status_code == 404
    response = signed_in.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    assert response.status_code == 404
    assert sms_outbox == []


def test_enrolling_needs_a_recent_authentication(client, user, sms_outbox):
    client.force_login(user)
    with later(3600):
        response = client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    assert response.status_code == 302
    assert reverse("mfa_app:reauthenticate") in response["Location"]
    assert sms_outbox == []


# --- enrolling the account's email address ----------------------------------------------------


def test_email_codes_go_to_the_accounts_own_address(signed_in, user):
    page = signed_in.get(ENROLL_EMAIL)
    assert f"{user.email[0]}***@example.com" in text(page)
    # A posted address is ignored: there is no field for it.
    signed_in.post(ENROLL_EMAIL, {"send": "1", "destination": "attacker@evil.test"})
    assert [m.to for m in mail.outbox] == [[user.email]]
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert email_code() in message.body and email_code() in html
    response = signed_in.post(ENROLL_EMAIL, {"code": email_code()})
    assert response.status_code == 200
    assert EmailFactor.objects.get(user=user).email == user.email


def test_the_email_service_refuses_any_other_address(user):
    with pytest.raises(errors.InvalidEmailAddress):
        services.send_enrollment_code(user, "EMAIL", "attacker@evil.test")
    assert mail.outbox == []


def test_an_account_without_an_address_cannot_add_email_codes(signed_in, user):
    type(user).objects.filter(pk=user.pk).update(email="")
    page = signed_in.get(ENROLL_EMAIL)
    assert "has no email address" in text(page)
    response = signed_in.post(ENROLL_EMAIL, {"send": "1"})
    assert response.status_code == 400
    assert mail.outbox == []


# --- the challenge ----------------------------------------------------------------------------


@pytest.fixture
def phone(db):
    return SMSFactorFactory()


@pytest.fixture
def pending(client, phone):
    password_login(client, phone.user)
    return client


def test_the_challenge_texts_the_primary_phone_once(pending, phone, sms_outbox):
    page = pending.get(CHALLENGE)
    assert sent_prompt("***-***-2671") in text(page)
    assert "Resend code" in text(page)
    assert [m.to for m in sms_outbox] == ["+14155552671"]
    # Reloading the page does not send another text.
    pending.get(CHALLENGE)
    assert len(sms_outbox) == 1


def test_the_texted_code_signs_in_once(pending, phone, sms_outbox, client):
    pending.get(CHALLENGE)
    code = sms_code(sms_outbox)
    response = pending.post(
        CHALLENGE, {"factor": "SMS", "device": str(phone.pk), "code": f"{code[:3]} {code[3:]}"}
    )
    assert response.status_code == 302
    assert is_logged_in(pending)
    phone.refresh_from_db()
    assert phone.last_used_at is not None
    # The same code is worth nothing to the next sign-in.
    pending.logout()
    with later(31):
        password_login(pending, phone.user)
        pending.get(CHALLENGE)
        response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": code})
        if sms_code(sms_outbox) != code:
            assert response.status_code == 400
            assert not is_logged_in(pending)


def test_the_message_carries_the_domain_for_browser_autofill(pending, sms_outbox):
    pending.get(CHALLENGE)
    body = sms_outbox[-1].body
    assert body.endswith(f"@testserver #{sms_code(sms_outbox)}")
    assert "expires in 10 minutes" in body


def test_codes_are_stored_only_as_keyed_hashes(pending, phone, sms_outbox):
    pending.get(CHALLENGE)
    code = sms_code(sms_outbox)
    row = SentCode.objects.get()
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert code not in stored
    assert "4155552671" not in stored
    events = " ".join(str(e.details) for e in MFAEvent.objects.all())
    assert code not in events and "4155552671" not in events
    assert MFAEvent.objects.filter(kind="code_sent", details__to="***-***-2671").exists()


def test_a_code_expires_before_its_sign_in_does(pending, phone, sms_outbox, settings):
    settings.MFA_CODE_TIMEOUT = 120
    pending.get(CHALLENGE)
    code = sms_code(sms_outbox)
    with later(121):
        response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": code})
        assert response.status_code == 400
        assert "expired" in text(response)
        # Nothing is sent until the user asks: then a new code does the job.
        assert len(sms_outbox) == 1
        pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
        fresh = sms_code(sms_outbox)
        response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": fresh})
    assert response.status_code == 302


def test_resending_at_once_is_refused_and_sends_nothing(pending, phone, sms_outbox):
    pending.get(CHALLENGE)
    response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
    assert response.status_code == 400
    # A neutral countdown with the server's wait in it, not an alert.
    page = text(response)
    assert re.search(r'data-mfa-countdown="(30|29)"', page)
    assert re.search(r"You can ask for a new code in <span[^>]*>0:(30|29)</span>", page)
    assert 'role="alert"' not in page
    assert len(sms_outbox) == 1


def test_after_the_cooldown_a_resend_replaces_the_code(pending, phone, sms_outbox):
    pending.get(CHALLENGE)
    first = sms_code(sms_outbox)
    with later(31):
        response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
        assert response.status_code == 302
        assert "We sent a new code" in text(pending.get(response["Location"]))
        second = sms_code(sms_outbox)
        assert len(sms_outbox) == 2
        if first != second:
            wrong = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": first})
            assert wrong.status_code == 400
        right = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": second})
    assert right.status_code == 302


def test_a_new_sign_in_does_not_get_around_the_cooldown(client, phone, sms_outbox):
    password_login(client, phone.user)
    client.get(CHALLENGE)
    client.post(reverse("mfa_app:cancel"))
    password_login(client, phone.user)
    page = client.get(CHALLENGE)
    assert "You can ask for a new code in" in text(page)
    assert len(sms_outbox) == 1


def test_a_code_from_an_earlier_sign_in_does_not_work(client, phone, sms_outbox):
    password_login(client, phone.user)
    client.get(CHALLENGE)
    old = sms_code(sms_outbox)
    client.post(reverse("mfa_app:cancel"))
    with later(31):
        password_login(client, phone.user)
        client.get(CHALLENGE)
        assert len(sms_outbox) == 2
        new = sms_code(sms_outbox)
        if old != new:
            response = client.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": old})
            assert response.status_code == 400
        response = client.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": new})
    assert response.status_code == 302


def test_five_wrong_codes_end_the_sign_in(pending, phone, sms_outbox):
    pending.get(CHALLENGE)
    code = sms_code(sms_outbox)
    for _ in range(4):
        response = pending.post(
            CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": other_code(code)}
        )
        assert response.status_code == 400
    response = pending.post(
        CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": other_code(code)}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    # The pending login is gone: the right code now leads nowhere.
    response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": code})
    assert response.status_code == 302
    assert not is_logged_in(pending)
    assert MFAEvent.objects.filter(user=phone.user, kind="locked_out").exists()


def test_a_resend_does_not_reset_the_wrong_code_count(pending, phone, sms_outbox):
    pending.get(CHALLENGE)
    for _ in range(4):
        pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": "000000"})
    with later(31):
        pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
        code = sms_code(sms_outbox)
        response = pending.post(
            CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": other_code(code)}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_the_daily_cap_per_user_holds_and_lifts_after_a_day(pending, phone, sms_outbox, settings):
    settings.MFA_CODE_SENDS_PER_USER_PER_DAY = 3
    pending.get(CHALLENGE)
    for minute in (1, 2):
        with later(60 * minute):
            pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
    assert len(sms_outbox) == 3
    with later(180):
        response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "resend": "1"})
    assert response.status_code == 400
    assert "No more codes can be sent for now" in text(response)
    assert len(sms_outbox) == 3
    # The cap is per user and per channel: email still works.
    EmailFactorFactory(user=phone.user, is_primary=False)
    with later(180):
        pending.get(
            CHALLENGE, {"factor": "EMAIL", "device": EmailFactor.objects.get(user=phone.user).pk}
        )
    assert len(mail.outbox) == 1
    # A day after the window opened, texts flow again (a new sign-in: this one has expired).
    with later(86400 + 1):
        pending.post(reverse("mfa_app:cancel"))
        password_login(pending, phone.user)
        pending.get(CHALLENGE)
    assert len(sms_outbox) == 4


def test_the_daily_cap_per_number_holds_across_accounts(client, sms_outbox, settings):
    settings.MFA_CODE_SENDS_PER_DESTINATION_PER_DAY = 2
    phones = [SMSFactorFactory(number="+14155552671") for _ in range(3)]
    for phone in phones:
        client.post(reverse("mfa_app:cancel"))
        password_login(client, phone.user)
        client.get(CHALLENGE)
    assert len(sms_outbox) == 2


def test_switching_to_email_replaces_the_texted_code(pending, phone, sms_outbox):
    address = EmailFactorFactory(user=phone.user, is_primary=False)
    pending.get(CHALLENGE)
    texted = sms_code(sms_outbox)
    page = pending.get(CHALLENGE, {"factor": "EMAIL", "device": address.pk})
    assert sent_prompt(address.masked_destination) in text(page)
    emailed = email_code()
    # One live code per sign-in: the text is void now.
    response = pending.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": texted})
    assert response.status_code == 400
    response = pending.post(CHALLENGE, {"factor": "EMAIL", "device": address.pk, "code": emailed})
    assert response.status_code == 302


def test_the_email_code_has_text_and_html_and_a_masked_hint(client, db):
    address = EmailFactorFactory(user=UserFactory(email="jane@example.com"))
    password_login(client, address.user)
    page = client.get(CHALLENGE)
    assert "j***@example.com" in text(page)
    assert "jane@example.com" not in text(page)
    message = mail.outbox[-1]
    assert message.to == ["jane@example.com"]
    assert message.alternatives[0][1] == "text/html"
    response = client.post(
        CHALLENGE, {"factor": "EMAIL", "device": address.pk, "code": email_code()}
    )
    assert response.status_code == 302
    assert is_logged_in(client)


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("gone")


def test_a_failed_email_shows_an_error_and_costs_nothing(client, db, settings):
    settings.EMAIL_BACKEND = "tests.test_codes.FailingEmailBackend"
    address = EmailFactorFactory()
    password_login(client, address.user)
    page = client.get(CHALLENGE)
    assert page.status_code == 400
    assert "could not send the code" in text(page)
    assert not SentCode.objects.exists()
    assert RateLimit.objects.get(key=f"send:EMAIL:user:{address.user.pk}").count == 0


# --- choosing factors -------------------------------------------------------------------------


def test_the_challenge_starts_with_the_primary_factor_and_offers_the_others(client, db, sms_outbox):
    totp = TOTPFactorFactory(is_primary=False)
    phone = SMSFactorFactory(user=totp.user, is_primary=True)
    address = EmailFactorFactory(user=totp.user, is_primary=False)
    password_login(client, totp.user)
    page = text(client.get(CHALLENGE))
    assert sent_prompt("***-***-2671") in page
    assert f'Email a code to <bdi dir="ltr">{address.masked_destination}</bdi>' in page
    assert "Use your authenticator app" in page
    assert f"SMS&amp;device={phone.pk}" not in page.split("mfa-switch")[1]
    # The authenticator app still answers, without a text being needed.
    response = client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(totp)})
    assert response.status_code == 302


def test_another_users_phone_cannot_be_texted_from_my_challenge(pending, sms_outbox):
    theirs = SMSFactorFactory(number="+12015550123")
    pending.get(CHALLENGE, {"factor": "SMS", "device": theirs.pk})
    response = pending.post(CHALLENGE, {"factor": "SMS", "device": theirs.pk, "resend": "1"})
    assert response.status_code == 400
    assert "+12015550123" not in [m.to for m in sms_outbox]


def test_a_factor_the_policy_no_longer_allows_is_refused_but_kept(client, allow_codes, sms_outbox):
    totp = TOTPFactorFactory()
    phone = SMSFactorFactory(user=totp.user, is_primary=False)
    allow_codes.allowed_factors = ["TOTP"]
    allow_codes.save()
    password_login(client, totp.user)
    page = text(client.get(CHALLENGE))
    assert "Text a code" not in page
    for data in (
        {"factor": "SMS", "device": phone.pk},
        {"factor": "SMS", "device": phone.pk, "resend": "1"},
        {"factor": "SMS", "device": phone.pk, "code": "123456"},
    ):
        response = client.post(CHALLENGE, data)
        assert response.status_code == 400
        assert "not allowed" in text(response)
    assert sms_outbox == []
    assert SMSFactor.objects.filter(pk=phone.pk).exists()
    assert not is_logged_in(client)
    with pytest.raises(errors.FactorNotAllowed):
        services.send_challenge_code(totp.user, None, "SMS", phone.pk, None)


def test_a_user_made_to_enroll_at_sign_in_can_add_a_phone(client, user, allow_codes, sms_outbox):
    from mfa_app.models import Requirement

    allow_codes.requirement = Requirement.REQUIRED
    allow_codes.save()
    password_login(client, user)
    assert not is_logged_in(client)
    client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    response = client.post(ENROLL_SMS, {"code": sms_code(sms_outbox)})
    assert response.status_code == 200  # recovery codes, then on
    assert is_logged_in(client)
    assert SMSFactor.objects.filter(user=user, confirmed=True).count() == 1


def test_a_pending_enrollment_that_ended_saves_no_phone(client, user, allow_codes, sms_outbox):
    from mfa_app.models import Requirement

    allow_codes.requirement = Requirement.REQUIRED
    allow_codes.save()
    password_login(client, user)
    client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    # The password changes meanwhile (elsewhere): this pending login is over.
    user.set_password("a new password 123")
    user.save()
    response = client.post(ENROLL_SMS, {"code": sms_code(sms_outbox)})
    assert response.status_code == 302
    assert not SMSFactor.objects.filter(user=user).exists()
    assert SentCode.objects.get().used_at is None
    assert not is_logged_in(client)
