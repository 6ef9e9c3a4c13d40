"""Codes by text message and email: enrolling, signing in with them, resend, factor management."""

import re
import tempfile
from pathlib import Path

import pytest
from django.core import mail

from mfa_app import services
from mfa_app.models import EmailFactor, Requirement, SMSFactor

from ..factories import (
    PASSWORD,
    EmailFactorFactory,
    SMSFactorFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)
from .helpers import (
    enter_code,
    expect,
    log_in_from_home,
    log_out,
    path_is,
    save_recovery_codes,
    submit_login,
)

pytestmark = pytest.mark.e2e

# The screenshots a reviewer looks at; each step's screenshot also goes to screenshots/<test>/.
SHOTS = Path(tempfile.gettempdir()) / "shots"
WIDE, NARROW = 1280, 360
NUMBER = "+12015551234"
MASKED_NUMBER = "***-***-1234"
CODE = re.compile(r"\b(\d{6})\b")


def review_shot(page, name: str, width: int = WIDE) -> None:
    """Save /tmp/shots/codes-<name>.png at this width, then go back to the wide viewport."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 800})
    page.screenshot(path=str(SHOTS / f"codes-{name}.png"), full_page=True)
    page.set_viewport_size({"width": WIDE, "height": 800})


def texted_code(outbox) -> str:
    """The code in the latest text message (its first six digits; the autofill line repeats it)."""
    return CODE.search(outbox[-1].body).group(1)


def emailed_code() -> str:
    return CODE.search(mail.outbox[-1].subject).group(1)


def masked_email(user) -> str:
    local, _, domain = user.email.partition("@")
    return f"{local[0]}***@{domain}"


def three_factors():
    """An authenticator app (primary), a phone, the account's email address, recovery codes."""
    totp = TOTPFactorFactory()
    SMSFactorFactory(user=totp.user, name="Mobile", number=NUMBER, is_primary=False)
    EmailFactorFactory(user=totp.user, name="Email", is_primary=False)
    services.recovery_codes_after_enrollment(totp.user)
    return totp


def at_challenge(page, shot, user) -> None:
    """Ask for /private/, pass the password: now at the challenge."""
    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/challenge/"))
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    shot("challenge")


def signed_in_at_private(page, shot, user) -> None:
    expect(page).to_have_url(path_is("/private/"))
    greeting = f"Only signed-in users see this page, {user.get_username()}"
    expect(page.get_by_text(greeting)).to_be_visible()
    shot("private")


def factor_row(page, name: str):
    """The security page's row of the factor called ``name`` (shown in bold above its type)."""
    return page.locator("table.mfa-table tbody tr").filter(
        has=page.locator("strong").get_by_text(name, exact=True)
    )


def test_enroll_sms_from_the_security_page(page, shot, allow_codes, sms_outbox, settings):
    user = UserFactory()
    log_in_from_home(page, shot, user)
    expect(page).to_have_url(path_is("/"))
    # The sign-in is no longer recent: adding a factor asks for the password first.
    settings.MFA_REAUTHENTICATION_TIMEOUT = -1
    page.get_by_role("navigation").get_by_role("link", name="Security").click()
    expect(page).to_have_url(path_is("/mfa/security/"))
    shot("security-off")
    page.get_by_role("link", name="Add text message").click()
    expect(page).to_have_url(path_is("/mfa/reauthenticate/"))
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    shot("reauthenticate")
    settings.MFA_REAUTHENTICATION_TIMEOUT = 300
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("That did not match. Try again.")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(path_is("/mfa/enroll/sms/"))
    expect(page.get_by_role("heading", name="Set up text messages")).to_be_visible()
    number = page.get_by_role("textbox", name="Mobile number")
    for invalid in ("12", "(555) 123-4567"):
        number.fill(invalid)
        page.get_by_role("button", name="Send code").click()
        expect(page.locator(".mfa-error")).to_contain_text("valid phone number")
        expect(number).to_have_value(invalid)
    shot("invalid-number")
    review_shot(page, "sms-enroll-step1-error")
    assert sms_outbox == []

    number.fill("(201) 555-0123")
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_text("Enter the 6-digit code we sent to ***-***-0123")).to_be_visible()
    expect(page.get_by_role("button", name="Resend code")).to_be_visible()
    expect(page.get_by_role("link", name="Use a different number")).to_be_visible()
    shot("code-step")
    review_shot(page, "sms-enroll-step2")
    assert [message.to for message in sms_outbox] == ["+12015550123"]
    assert not SMSFactor.objects.filter(user=user).exists()

    enter_code(page, shot, texted_code(sms_outbox), button="Confirm and turn on")
    save_recovery_codes(page, shot, count=allow_codes.recovery_codes_count)
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.locator(".mfa-status")).to_contain_text("On")
    row = page.locator("table.mfa-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").first).to_contain_text("Text message")
    expect(row.get_by_role("cell", name="***-***-0123", exact=True)).to_be_visible()
    shot("security-on")
    factor = SMSFactor.objects.get(user=user)
    assert (str(factor.number), factor.confirmed, factor.is_primary) == ("+12015550123", True, True)


def test_sign_in_by_text_then_by_email_from_the_challenge(page, shot, allow_codes, sms_outbox):
    user = three_factors().user
    at_challenge(page, shot, user)
    # The primary factor, the authenticator app, comes first; nothing is sent until asked.
    expect(page.get_by_text("Open your authenticator app")).to_be_visible()
    for label in (
        f"Text a code to {MASKED_NUMBER}",
        f"Email a code to {masked_email(user)}",
        "Use a recovery code",
    ):
        expect(page.get_by_role("link", name=label)).to_be_visible()
    assert (sms_outbox, mail.outbox) == ([], [])

    page.get_by_role("link", name=f"Text a code to {MASKED_NUMBER}").click()
    expect(page.get_by_text(f"Enter the code sent to {MASKED_NUMBER}.")).to_be_visible()
    expect(page.get_by_role("link", name="Use your authenticator app")).to_be_visible()
    shot("challenge-sms")
    review_shot(page, "challenge-sms-1280")
    review_shot(page, "challenge-sms-360", width=NARROW)
    assert [message.to for message in sms_outbox] == [NUMBER]
    enter_code(page, shot, texted_code(sms_outbox))
    signed_in_at_private(page, shot, user)

    log_out(page, shot)
    at_challenge(page, shot, user)
    page.get_by_role("link", name=f"Email a code to {masked_email(user)}").click()
    expect(page.get_by_text(f"Enter the code sent to {masked_email(user)}.")).to_be_visible()
    shot("challenge-email")
    assert [message.to for message in mail.outbox] == [[user.email]]
    assert len(sms_outbox) == 1
    enter_code(page, shot, emailed_code())
    signed_in_at_private(page, shot, user)


def test_resend_at_once_shows_the_cooldown_and_sends_nothing(page, shot, allow_codes, sms_outbox):
    phone = SMSFactorFactory(number=NUMBER)
    at_challenge(page, shot, phone.user)
    # The only factor is the phone: the code is sent on the first view.
    expect(page.get_by_text(f"Enter the code sent to {MASKED_NUMBER}.")).to_be_visible()
    assert len(sms_outbox) == 1
    code = texted_code(sms_outbox)

    page.get_by_role("button", name="Resend code").click()
    # A neutral countdown, not an alert; Resend waits for it.
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"You can ask for a new code in 0:[0-3]\d\.")
    )
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button", name="Resend code")).to_be_disabled()
    shot("cooldown")
    assert len(sms_outbox) == 1
    # The code already sent still works.
    enter_code(page, shot, code)
    signed_in_at_private(page, shot, phone.user)


def test_rename_and_make_the_phone_primary_then_sign_in_starts_with_a_text(
    page, shot, allow_codes, sms_outbox
):
    totp = three_factors()
    user = totp.user
    at_challenge(page, shot, user)
    enter_code(page, shot, code_for(totp))
    signed_in_at_private(page, shot, user)

    page.get_by_role("navigation").get_by_role("link", name="Security").click()
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.locator("table.mfa-table tbody tr")).to_have_count(3)
    expect(factor_row(page, "Mobile").get_by_role("cell", name=MASKED_NUMBER)).to_be_visible()
    email_cell = factor_row(page, "Email").get_by_role("cell", name=masked_email(user))
    expect(email_cell).to_be_visible()
    shot("security-three-factors")
    review_shot(page, "security-1280")
    review_shot(page, "security-360", width=NARROW)

    page.get_by_role("link", name="Rename Mobile").click()
    expect(page.get_by_role("heading", name="Rename “Mobile”")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Mobile")
    review_shot(page, "rename")
    page.get_by_role("textbox", name="Name").fill("Work phone")
    shot("rename-filled")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(path_is("/mfa/security/"))
    expect(page.get_by_text("Renamed to “Work phone”.")).to_be_visible()
    expect(factor_row(page, "Work phone")).to_have_count(1)
    expect(factor_row(page, "Mobile")).to_have_count(0)

    page.get_by_role("button", name="Make primary Work phone").click()
    expect(page.get_by_text("“Work phone” is now offered first when you sign in.")).to_be_visible()
    expect(factor_row(page, "Work phone").locator(".mfa-badge", has_text="primary")).to_be_visible()
    expect(page.get_by_role("button", name="Make primary Work phone")).to_have_count(0)
    expect(page.get_by_role("button", name="Make primary Phone")).to_be_visible()
    shot("security-phone-primary")
    phone = SMSFactor.objects.get(user=user)
    assert (phone.name, phone.is_primary) == ("Work phone", True)
    assert sms_outbox == []

    log_out(page, shot)
    at_challenge(page, shot, user)
    expect(page.get_by_text(f"Enter the code sent to {MASKED_NUMBER}.")).to_be_visible()
    expect(page.get_by_role("link", name="Use your authenticator app")).to_be_visible()
    assert [message.to for message in sms_outbox] == [NUMBER]
    enter_code(page, shot, texted_code(sms_outbox))
    signed_in_at_private(page, shot, user)


def test_required_user_without_a_factor_enrolls_email_codes_at_sign_in(page, shot, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.allowed_factors = ["SMS", "EMAIL"]
    app_policy.save()
    user = UserFactory()

    page.goto("/private/")
    expect(page).to_have_url(path_is("/accounts/login/"))
    submit_login(page, shot, user)
    expect(page).to_have_url(path_is("/mfa/enroll/"))
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    expect(page.get_by_role("link", name="Text message", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Authenticator app", exact=True)).to_have_count(0)
    shot("enroll-choose")
    # A pending login opens nothing else.
    page.goto("/private/")
    expect(page).to_have_url(path_is("/mfa/enroll/"))

    page.get_by_role("link", name="Email", exact=True).click()
    expect(page).to_have_url(path_is("/mfa/enroll/email/"))
    expect(page.get_by_role("heading", name="Set up email codes")).to_be_visible()
    expect(page.get_by_text("Your account needs two-step verification")).to_be_visible()
    we_will_email = f"We will email a 6-digit code to {masked_email(user)}"
    expect(page.get_by_text(we_will_email)).to_be_visible()
    shot("enroll-email")
    review_shot(page, "email-enroll")
    assert mail.outbox == []

    page.get_by_role("button", name="Send code").click()
    expect(
        page.get_by_text(f"Enter the 6-digit code we sent to {masked_email(user)}")
    ).to_be_visible()
    shot("code-step")
    assert [message.to for message in mail.outbox] == [[user.email]]
    enter_code(page, shot, emailed_code(), button="Confirm and turn on")
    save_recovery_codes(page, shot, count=app_policy.recovery_codes_count)
    signed_in_at_private(page, shot, user)
    assert EmailFactor.objects.filter(user=user, email=user.email, confirmed=True).exists()


# --- Layout and wording problems found in the screenshots, reported to the lead -----------------


def on_security_page(page, shot):
    totp = three_factors()
    at_challenge(page, shot, totp.user)
    enter_code(page, shot, code_for(totp))
    signed_in_at_private(page, shot, totp.user)
    page.goto("/mfa/security/")
    expect(page.locator("table.mfa-table tbody tr")).to_have_count(3)
    return totp.user


def on_sms_challenge(page, shot):
    user = three_factors().user
    at_challenge(page, shot, user)
    page.get_by_role("link", name=f"Text a code to {MASKED_NUMBER}").click()
    expect(page.get_by_text(f"Enter the code sent to {MASKED_NUMBER}.")).to_be_visible()
    return user


def test_row_actions_fit_in_the_card_at_desktop_width(page, shot, allow_codes):
    on_security_page(page, shot)
    assert page.locator(".mfa-table-wrap").evaluate("w => w.scrollWidth <= w.clientWidth")


def test_the_actions_cell_stays_a_table_cell(page, shot, allow_codes):
    on_security_page(page, shot)
    cells = page.locator("td.mfa-row-actions")
    assert (
        cells.evaluate_all("tds => tds.map(td => getComputedStyle(td).display)")
        == ["table-cell"] * 3
    )


def test_add_email_is_not_offered_once_the_address_is_a_factor(page, shot, allow_codes):
    on_security_page(page, shot)
    expect(page.get_by_role("link", name="Add text message")).to_be_visible()
    assert page.get_by_role("link", name="Add email").count() == 0


def test_the_switch_link_to_the_app_reads_as_a_sentence(page, shot, allow_codes):
    on_sms_challenge(page, shot)
    links = page.locator(".mfa-switch a").all_inner_texts()
    assert "Use your authenticator app" in links


def test_the_masked_number_stays_on_one_line_at_360_px(page, shot, allow_codes):
    on_sms_challenge(page, shot)
    page.set_viewport_size({"width": NARROW, "height": 800})
    prompt = page.locator("strong", has_text=MASKED_NUMBER)
    assert prompt.evaluate("el => el.getClientRects().length") == 1
