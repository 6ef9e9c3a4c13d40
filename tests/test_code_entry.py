"""Typing a code on the built-in pages: what a person sees after a typo, a wrong code or a resend,
and the nav, re-confirm and email pages around them (issue 14)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from mfa_app.models import Challenge, SentCode, UserState

from .conftest import password_login, sign_in_with_mfa
from .factories import (
    EmailFactorFactory,
    SMSFactorFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)

CHALLENGE = reverse("mfa_app:challenge")
REAUTH = reverse("mfa_app:reauthenticate")
ENROLL_SMS = reverse("mfa_app:enroll_sms")
ENROLL_EMAIL = reverse("mfa_app:enroll_email")
HOME = reverse("home")

pytestmark = pytest.mark.usefixtures("allow_codes")


def text(response) -> str:
    return response.content.decode()


def code_input(page: str) -> str:
    return re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)


def wrong_totp(device) -> str:
    near = {code_for(device, offset) for offset in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(0, 10**6, 111_111)) if c not in near)


def failures(user) -> int:
    state = UserState.objects.filter(user=user).first()
    return state.failed_attempts if state else 0


@pytest.fixture
def totp(db):
    return TOTPFactorFactory()


@pytest.fixture
def pending(client, totp):
    password_login(client, totp.user)
    return client


# --- a wrong code, a typo -------------------------------------------------------------------


def test_a_wrong_code_is_cleared_from_the_field_and_the_error_is_tied_to_it(pending, totp):
    response = pending.post(CHALLENGE, {"factor": "TOTP", "code": wrong_totp(totp)})
    assert response.status_code == 400
    field = code_input(text(response))
    # Empty for the next try, focused, and described by its error.
    assert 'value="' not in field
    assert "autofocus" in field
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id_code_error"' in field
    assert re.search(r'<p class="mfa-error" id="id_code_error">[^<]+</p>', text(response))
    assert "4 attempts left" in text(response)


@pytest.mark.parametrize("typed", ["abcdef", "12345", "1234567", "12a456", "١٢٣٤٥٦"])
def test_letters_or_a_short_code_are_refused_without_using_an_attempt(pending, totp, typed):
    response = pending.post(CHALLENGE, {"factor": "TOTP", "code": typed})
    assert response.status_code == 400
    assert "Enter the 6-digit code, using numbers only." in text(response)
    assert failures(totp.user) == 0
    assert Challenge.objects.get(user=totp.user).failures == 0
    # The right code still passes, with every attempt left.
    right = pending.post(CHALLENGE, {"factor": "TOTP", "code": code_for(totp)})
    assert right.status_code == 302


def test_spaces_and_dashes_between_digits_are_no_typo(pending, totp):
    code = code_for(totp)
    response = pending.post(CHALLENGE, {"factor": "TOTP", "code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302


def test_the_code_field_asks_for_the_number_pad_and_the_one_time_code(pending):
    field = code_input(text(pending.get(CHALLENGE)))
    assert 'inputmode="numeric"' in field
    assert 'autocomplete="one-time-code"' in field
    assert 'pattern="[0-9 -]*"' in field


def test_a_recovery_code_is_not_held_to_digits(pending, totp):
    from mfa_app import services

    codes = services.regenerate_recovery_codes(totp.user)
    page = text(pending.get(CHALLENGE + "?factor=RECOVERY"))
    assert 'inputmode="numeric"' not in code_input(page)
    response = pending.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[0]})
    assert response.status_code == 302


def test_a_sent_code_with_letters_costs_nothing(client, sms_outbox):
    phone = SMSFactorFactory()
    password_login(client, phone.user)
    client.get(CHALLENGE)
    response = client.post(CHALLENGE, {"factor": "SMS", "device": phone.pk, "code": "12e456"})
    assert response.status_code == 400
    assert failures(phone.user) == 0
    assert SentCode.objects.get(user=phone.user).failures == 0


def test_enrolling_a_phone_a_typo_costs_nothing_and_a_wrong_code_is_cleared(client, sms_outbox):
    user = UserFactory()
    client.force_login(user)
    client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    typo = client.post(ENROLL_SMS, {"code": "12345"})
    assert typo.status_code == 400
    assert "Enter the 6-digit code" in text(typo)
    assert failures(user) == 0
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)
    wrong = client.post(ENROLL_SMS, {"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400
    assert 'value="' not in code_input(text(wrong))
    assert failures(user) == 1


def test_the_reauthentication_code_with_letters_costs_nothing(client, totp):
    sign_in_with_mfa(client, totp.user)
    response = client.post(REAUTH, {"code": "abcdef"})
    assert response.status_code == 400
    assert "Enter the 6-digit code" in text(response)
    assert failures(totp.user) == 0


# --- what is said about time ----------------------------------------------------------------


def test_the_code_lifetime_is_stated_when_it_is_sent(client, settings, sms_outbox):
    phone = SMSFactorFactory()
    password_login(client, phone.user)
    assert "The code works for 10 minutes." in text(client.get(CHALLENGE))
    settings.MFA_CODE_TIMEOUT = 60
    assert "The code works for 1 minute." in text(client.get(CHALLENGE))


def test_the_sign_in_time_limit_is_stated_before_it_runs_out(pending):
    assert "Finish within 10 minutes" in text(pending.get(CHALLENGE))
    with time_machine.travel(timezone.now() + timedelta(seconds=561), tick=False):
        assert "Finish within 1 minute:" in text(pending.get(CHALLENGE))


def test_the_resend_wait_is_a_countdown_on_the_enrollment_page_too(client, sms_outbox):
    client.force_login(UserFactory())
    client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    response = client.post(ENROLL_SMS, {"resend": "1"})
    page = text(response)
    assert re.search(r'data-mfa-countdown="(30|29)"', page)
    assert "You can ask for a new code in" in page
    assert "countdown.js" in page
    assert 'role="alert"' not in page
    assert len(sms_outbox) == 1


def test_a_daily_cap_is_still_a_problem_not_a_countdown(client, settings, sms_outbox):
    settings.MFA_CODE_SENDS_PER_USER_PER_DAY = 1
    client.force_login(UserFactory())
    client.post(ENROLL_SMS, {"send": "1", "destination": "+14155552671"})
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        page = text(client.post(ENROLL_SMS, {"resend": "1"}))
    assert "data-mfa-countdown" not in page
    assert "No more codes can be sent for now" in page


# --- the site's nav during a pending sign-in ------------------------------------------------


def test_the_nav_shows_the_pending_sign_in_not_log_in(pending):
    page = text(pending.get(CHALLENGE))
    assert ">Log in<" not in page and ">Sign up<" not in page
    assert f'href="{CHALLENGE}" class="site-pending">Finish signing in<' in page
    assert "Cancel sign-in" in page
    pending.post(reverse("mfa_app:cancel"))
    page = text(pending.get(HOME))
    assert ">Log in<" in page and "Cancel sign-in" not in page


def test_the_nav_of_a_sign_in_that_must_enroll(client, app_policy):
    app_policy.requirement = "REQUIRED"
    app_policy.save()
    password_login(client, UserFactory())
    page = text(client.get(reverse("mfa_app:enroll")))
    assert "Finish setting up sign-in" in page and ">Log in<" not in page


def test_a_sign_in_that_timed_out_is_no_longer_shown_as_pending(pending):
    with time_machine.travel(timezone.now() + timedelta(seconds=601), tick=False):
        page = text(pending.get(HOME))
    assert ">Log in<" in page and "Cancel sign-in" not in page


def test_the_tag_without_a_request_says_nothing_is_pending():
    template = Template("{% load mfa_login %}{% pending_login as p %}[{{ p|default:'none' }}]")
    assert template.render(Context({})) == "[none]"
    request = RequestFactory().get("/")
    request.session = {}
    assert template.render(Context({"request": request})) == "[none]"


# --- re-confirming ----------------------------------------------------------------------------


def test_the_reconfirm_page_names_the_factors_the_user_has(client, totp, sms_outbox):
    user = totp.user
    sign_in_with_mfa(client, user)
    phone = SMSFactorFactory(user=user, is_primary=False)
    EmailFactorFactory(user=user, is_primary=False)
    page = text(client.get(REAUTH + "?next=/private/"))
    assert "Or a code from your authenticator app" in page
    assert re.sub(r"<[^>]+>", "", page).count("Text a code to ***-***-2671") == 1
    assert "Email a code to" in page
    # Each way opens the step-up page on it, coming back to where the user was going.
    link = re.search(r'href="([^"]*factor=SMS[^"]*)"', page).group(1).replace("&amp;", "&")
    assert link.startswith(reverse("mfa_app:step_up"))
    assert f"device={phone.pk}" in link and "next=%2Fprivate%2F" in link
    step_up = client.get(link)
    assert step_up.status_code == 200
    assert [m.to for m in sms_outbox] == [str(phone.number.as_e164)]


def test_without_an_app_the_reconfirm_page_asks_no_app_code(client, totp):
    sign_in_with_mfa(client, totp.user)
    SMSFactorFactory(user=totp.user, is_primary=False)
    totp.delete()
    page = text(client.get(REAUTH))
    assert "authenticator app" not in page
    assert 'name="code"' not in page
    assert "Text a code to ***-***-2671" in re.sub(r"<[^>]+>", "", page)


def test_without_factors_the_reconfirm_page_asks_for_the_password_only(client):
    client.force_login(UserFactory())
    page = text(client.get(REAUTH))
    assert "Enter your password to continue." in page
    assert 'name="code"' not in page and "Or confirm with" not in page


# --- email that is a factor already ---------------------------------------------------------


def test_adding_email_again_is_an_error_with_a_way_on(client, totp):
    sign_in_with_mfa(client, totp.user)
    address = EmailFactorFactory(user=totp.user, is_primary=False)
    page = text(client.get(ENROLL_EMAIL))
    alert = re.search(r'<div class="mfa-alert" role="alert">(.*?)</div>', page, re.S).group(1)
    assert address.masked_destination in alert
    assert "change your account's email address first" in alert
    assert f'href="{reverse("mfa_app:security")}"' in page
    response = client.post(ENROLL_EMAIL, {"send": "1"})
    assert response.status_code == 400
    assert 'role="alert"' in text(response)
    assert mail.outbox == []


def test_enrolling_an_app_a_typo_costs_nothing_and_a_wrong_code_is_cleared(client):
    user = UserFactory()
    client.force_login(user)
    enroll = reverse("mfa_app:enroll_totp")
    client.get(enroll)
    typo = client.post(enroll, {"code": "abc123"})
    assert typo.status_code == 400
    assert "Enter the 6-digit code" in text(typo)
    assert 'value="abc123"' in code_input(text(typo))  # a typo stays, to be corrected
    assert failures(user) == 0
    wrong = client.post(enroll, {"code": "000000"})
    assert wrong.status_code == 400
    assert 'value="' not in code_input(text(wrong))
