"""The demo: the seed's listing (what each user has now) and its one-line code printers."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from mfa_app import services
from mfa_app.models import EmailFactor, SMSFactor, TOTPFactor

from .conftest import password_login
from .factories import EmailFactorFactory, SMSFactorFactory

CHALLENGE = reverse("mfa_app:challenge")
DEMO = {
    "EMAIL_BACKEND": "example_project.accounts.demo_senders.DemoEmailBackend",
    "MFA_SMS_BACKEND": "example_project.accounts.demo_senders.DemoSMSBackend",
}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def line_of(output: str, username: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(f"  {username} ")]
    return line


@pytest.mark.django_db
def test_the_seed_prints_localhost_never_an_ip_address():
    output = seed()
    assert "Demo site: http://localhost:8000/" in output
    assert "127.0.0.1" not in output
    assert "http://localhost:8001/" in seed("--url", "http://localhost:8001/")


@pytest.mark.django_db
def test_the_seed_gives_alice_and_dave_factors_and_recovery_codes_shown_once():
    first = seed()
    assert TOTPFactor.objects.count() == 1
    assert SMSFactor.objects.count() == 1 and EmailFactor.objects.count() == 1
    dave_codes = re.search(r"dave's recovery codes \(shown once\): (.*)", first).group(1)
    assert len(dave_codes.split(", ")) == 10
    assert "10 recovery codes left" in line_of(first, "dave")
    # Seeding again creates nothing and shows no codes: they exist only as hashes now.
    again = seed()
    assert TOTPFactor.objects.count() == 1 and SMSFactor.objects.count() == 1
    assert "recovery codes (shown once)" not in again
    assert dave_codes.split(", ")[0] not in again


@pytest.mark.django_db
def test_a_rerun_lists_what_each_user_has_now():
    first = seed()
    assert "no factor yet" in line_of(first, "bob")
    dave_sms = SMSFactor.objects.get()
    services.remove_factor(dave_sms.user, dave_sms)
    later = seed()
    assert "Text message" in line_of(first, "dave")
    assert "Text message" not in line_of(later, "dave")
    assert "Email" in line_of(later, "dave")


def test_demo_email_prints_one_line_per_code_and_the_code_signs_in(client, allow_codes, capsys):
    factor = EmailFactorFactory(is_primary=True)
    with override_settings(**DEMO):
        password_login(client, factor.user)
        capsys.readouterr()
        client.get(CHALLENGE)
        printed = capsys.readouterr().out
        match = re.fullmatch(
            rf"code (\d{{6}}) for {factor.user.get_username()} by email\n", printed
        )
        assert match, printed
        answer = {"factor": "EMAIL", "device": factor.pk, "code": match.group(1)}
        response = client.post(CHALLENGE, answer)
    assert response.status_code == 302 and response.url != CHALLENGE


def test_demo_sms_prints_one_line_per_code(client, allow_codes, capsys):
    phone = SMSFactorFactory()
    with override_settings(**DEMO):
        password_login(client, phone.user)
        capsys.readouterr()
        client.get(CHALLENGE)
    printed = capsys.readouterr().out
    assert re.fullmatch(rf"code \d{{6}} for {phone.user.get_username()} by SMS\n", printed)


def test_demo_email_prints_other_emails_as_their_subject(db, capsys):
    from django.core.mail import send_mail

    with override_settings(**DEMO):
        send_mail("New sign-in to your account", "long text\n" * 40, None, ["x@example.com"])
    assert capsys.readouterr().out == "email to x@example.com: New sign-in to your account\n"
