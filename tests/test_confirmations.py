"""Every change a person makes on the MFA pages is confirmed in the site's message display."""

import re

import pyotp
import pytest
from django.core import mail
from django.urls import reverse

from mfa_app import services
from mfa_app.factors import get_factor
from mfa_app.models import Requirement, TrustedDevice

from .conftest import is_logged_in, password_login
from .factories import TOTPFactorFactory, code_for
from .test_policy_engine import sign_in
from .webauthn_authenticator import SoftwareAuthenticator

SECURITY = reverse("mfa_app:security")
CHALLENGE = reverse("mfa_app:challenge")


def messages_on(response) -> list[str]:
    """The texts in the site's message list (base.html's ``mfa-messages``)."""
    html = response.content.decode()
    box = re.search(r'<ul class="mfa-messages"[^>]*>(.*?)</ul>', html, re.S)
    if box is None:
        return []
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(r"<li[^>]*>(.*?)</li>", box[1])]


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)  # no factor yet: fully signed in, and just now
    return client


# --- a factor added -------------------------------------------------------------------------


def test_adding_an_authenticator_app_is_confirmed(signed_in):
    page = signed_in.get(reverse("mfa_app:enroll_totp"))
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page.content.decode())[1]
    shown = signed_in.post(reverse("mfa_app:enroll_totp"), {"code": pyotp.TOTP(secret).now()})
    assert messages_on(shown) == ["Authenticator app added: sign-ins will ask for a code from it."]
    # Shown once: the next page has no stale confirmation.
    assert messages_on(signed_in.get(SECURITY)) == []


def test_a_wrong_code_confirms_nothing(signed_in):
    signed_in.get(reverse("mfa_app:enroll_totp"))
    refused = signed_in.post(reverse("mfa_app:enroll_totp"), {"code": "000000"})
    assert refused.status_code == 400
    assert messages_on(refused) == []


@pytest.mark.parametrize(
    ("authenticator", "expected"),
    [
        (SoftwareAuthenticator(), "Security key “Blue key” added: you can sign in with it."),
        (
            SoftwareAuthenticator(backup_eligible=True, backed_up=True, transports=("internal",)),
            "Passkey “Blue key” added: you can sign in with it.",
        ),
    ],
)
def test_adding_a_security_key_or_a_passkey_says_which(signed_in, authenticator, expected):
    url = reverse("mfa_app:enroll_webauthn")
    options = signed_in.get(url).context["webauthn_options"]
    shown = signed_in.post(url, {"name": "Blue key", "credential": authenticator.create(options)})
    assert messages_on(shown) == [expected]


def test_adding_a_phone_is_confirmed_with_the_masked_number(signed_in, allow_codes, sms_outbox):
    url = reverse("mfa_app:enroll_sms")
    signed_in.post(url, {"send": "1", "destination": "(201) 555-0123"})
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].body)[1]
    shown = signed_in.post(url, {"code": code})
    [message] = messages_on(shown)
    assert message.startswith("Text message added: sign-ins can send a code to ")
    assert "0123" in message and "555-0123" not in message


def test_adding_email_is_confirmed_with_the_masked_address(signed_in, user, allow_codes):
    url = reverse("mfa_app:enroll_email")
    signed_in.post(url, {"send": "1"})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].subject)[1]
    shown = signed_in.post(url, {"code": code})
    [message] = messages_on(shown)
    assert message.startswith("Email added: sign-ins can send a code to ")
    assert user.email not in message


# --- set up later ---------------------------------------------------------------------------


def test_setting_up_later_says_how_many_days_are_left(client, user, app_policy):
    app_policy.requirement = Requirement.REQUIRED
    app_policy.grace_period_days = 3
    app_policy.save()
    password_login(client, user)
    landed = client.post(reverse("mfa_app:enroll_later"), follow=True)
    assert is_logged_in(client)
    assert messages_on(landed) == ["Two-step verification is postponed: set it up within 3 days."]


# --- recovery codes -------------------------------------------------------------------------


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


def test_signing_in_with_a_recovery_code_says_how_many_are_left(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    password_login(client, device.user)
    landed = client.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[0]}, follow=True)
    assert is_logged_in(client)
    shown = messages_on(landed)
    assert "You signed in with a recovery code: 9 recovery codes left." in shown


def test_the_count_left_is_singular_for_the_last_but_one(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    for code in codes[:8]:
        assert get_factor("RECOVERY").verify(device.user, code) is not None
    password_login(client, device.user)
    landed = client.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[8]}, follow=True)
    assert "You signed in with a recovery code: 1 recovery code left." in messages_on(landed)


def test_the_last_recovery_code_points_to_the_new_ones(client, device):
    codes = services.recovery_codes_after_enrollment(device.user)
    for code in codes[:9]:
        assert get_factor("RECOVERY").verify(device.user, code) is not None
    password_login(client, device.user)
    shown = client.post(CHALLENGE, {"factor": "RECOVERY", "code": codes[9]})
    assert "Save your recovery codes" in shown.content.decode()
    assert "You signed in with your last recovery code: save the new ones below." in messages_on(
        shown
    )


def test_a_wrong_recovery_code_confirms_nothing(client, device):
    services.recovery_codes_after_enrollment(device.user)
    password_login(client, device.user)
    refused = client.post(CHALLENGE, {"factor": "RECOVERY", "code": "AAAA-BBBB-CCCC"})
    assert not is_logged_in(client)
    assert not [m for m in messages_on(refused) if "recovery code" in m]


@pytest.fixture
def signed_in_with_factor(client, device):
    services.recovery_codes_after_enrollment(device.user)
    password_login(client, device.user)
    client.post(CHALLENGE, {"factor": "TOTP", "code": code_for(device)})
    return client


def test_new_recovery_codes_are_confirmed(signed_in_with_factor):
    shown = signed_in_with_factor.post(reverse("mfa_app:regenerate_recovery_codes"))
    assert "Save your recovery codes" in shown.content.decode()
    assert messages_on(shown) == [
        "New recovery codes generated: the codes you saved before no longer work."
    ]


# --- managing factors -----------------------------------------------------------------------


def test_removing_renaming_and_making_primary_are_confirmed(signed_in_with_factor, device):
    spare = TOTPFactorFactory(user=device.user, name="Old phone", is_primary=False)
    client = signed_in_with_factor
    args = ["TOTP", spare.pk]
    renamed = client.post(
        reverse("mfa_app:rename_factor", args=args), {"name": "Tablet"}, follow=True
    )
    assert messages_on(renamed) == ["Renamed to “Tablet”."]
    primary = client.post(reverse("mfa_app:set_primary_factor", args=args), follow=True)
    assert messages_on(primary) == ["“Tablet” is now offered first when you sign in."]
    removed = client.post(reverse("mfa_app:remove_factor", args=args), follow=True)
    assert messages_on(removed)[0] == "“Tablet” was removed."


def test_forgetting_remembered_devices_is_confirmed(client, device):
    sign_in(client, device, remember=True)
    assert TrustedDevice.objects.filter(user=device.user).count() == 1
    forgot = client.post(reverse("mfa_app:revoke_devices"), follow=True)
    assert messages_on(forgot) == ["1 device will be asked for a second step again."]
