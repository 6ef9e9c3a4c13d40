"""Step-up MFA: ``@mfa_required`` and ``MFARequiredMixin`` send a stale session through a
challenge and back; the step-up page offers only what the page accepts."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from mfa_app import decorators, errors, services
from mfa_app.decorators import mfa_required, read_factors
from mfa_app.login_state import STEP_UP_KEY, VERIFIED_KEY
from mfa_app.models import Challenge, MFAEvent

from .conftest import is_logged_in, password_login, sign_in_with_mfa
from .factories import TOTPFactorFactory, UserFactory, code_for
from .webauthn_authenticator import SoftwareAuthenticator, stored_credential

pytestmark = pytest.mark.urls("tests.step_up_urls")

STEP_UP = "/mfa/step-up/"
SENSITIVE = "/private/sensitive/"
KEYS_ONLY = "/step-up-test/keys/"
ADD_ONE = "Go to your security page"


def step_up_url(next_url: str, factors: list[str] | None = None) -> str:
    """The URL the decorator sends to (the signed token is deterministic)."""
    return decorators.step_up_url(next_url, factors)


@pytest.fixture
def clock():
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def device(db):
    return TOTPFactorFactory()


@pytest.fixture
def signed_in(client, device, clock):
    sign_in_with_mfa(client, device.user)
    return client


@pytest.fixture
def stale(signed_in, clock):
    clock.shift(301)
    return signed_in


def test_anonymous_users_go_to_the_login_page_with_next(client, db):
    response = client.get(SENSITIVE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={SENSITIVE}"


def test_a_fresh_mfa_goes_straight_through(signed_in, clock):
    clock.shift(299)
    assert signed_in.get(SENSITIVE).status_code == 200


def test_without_max_age_any_mfa_in_this_session_counts(signed_in, clock):
    clock.shift(86_400)
    assert signed_in.get("/step-up-test/any/").status_code == 200


def test_a_stale_session_steps_up_and_comes_back(stale, device):
    response = stale.get(f"{SENSITIVE}?tab=2")
    assert response.status_code == 302
    assert response["Location"] == step_up_url(f"{SENSITIVE}?tab=2")
    page = stale.get(response["Location"])
    assert page.status_code == 200
    assert "Confirm it's you" in page.content.decode()
    assert reverse("mfa_app:cancel") not in page.content.decode()
    before = stale.session.session_key
    done = stale.post(response["Location"], {"factor": "TOTP", "code": code_for(device)})
    assert done.status_code == 302 and done["Location"] == f"{SENSITIVE}?tab=2"
    # More rights, new session key; the step-up record is gone.
    assert stale.session.session_key != before
    assert STEP_UP_KEY not in stale.session
    assert stale.session[VERIFIED_KEY]["factor"] == "TOTP"
    assert stale.get(SENSITIVE).status_code == 200
    challenge = Challenge.objects.filter(user=device.user).latest("created_at")
    assert challenge.verified_at is not None and challenge.factor_type == "TOTP"
    assert MFAEvent.objects.filter(
        user=device.user, kind="challenged", details__reason="step_up"
    ).exists()


def test_the_step_up_page_keeps_next_when_switching_method(stale, device):
    services.regenerate_recovery_codes(device.user)
    page = stale.get(step_up_url(SENSITIVE))
    switch = [o["query"] for o in page.context["other_factors"]]
    assert switch == [f"factor=RECOVERY&{urlencode({'next': SENSITIVE})}"]


def test_switching_method_keeps_the_restriction(signed_in, key, device):
    TOTPFactorFactory(user=device.user)  # not offered: the page wants a key
    location = signed_in.get(KEYS_ONLY)["Location"]
    page = signed_in.get(location)
    token = parse_qs(urlsplit(location).query)["factors"]
    assert read_factors(token[0]) == ["WEBAUTHN"]
    assert page.context["other_factors"] == []


def test_a_wrong_code_shows_an_error_and_a_retry_works(stale, device):
    url = step_up_url(SENSITIVE)
    response = stale.post(url, {"factor": "TOTP", "code": "000000"})
    assert response.status_code == 400
    assert "4 attempts left" in response.content.decode()
    assert stale.post(url, {"factor": "TOTP", "code": code_for(device)})["Location"] == SENSITIVE


def test_next_off_site_is_not_followed(stale, device):
    url = step_up_url("https://evil.example/steal")
    page = stale.get(url)
    assert "evil.example" not in page.content.decode()
    response = stale.post(url, {"factor": "TOTP", "code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_five_wrong_codes_sign_the_session_out(stale, device):
    url = step_up_url(SENSITIVE)
    for _ in range(4):
        assert stale.post(url, {"factor": "TOTP", "code": "000000"}).status_code == 400
    response = stale.post(url, {"factor": "TOTP", "code": "000000"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "Too many wrong codes" in stale.get(response["Location"]).content.decode()
    assert not is_logged_in(stale)
    assert MFAEvent.objects.filter(user=device.user, kind="locked_out").count() == 1


def test_a_double_submit_that_lost_the_race_is_not_signed_out(stale, device, monkeypatch):
    def won_by_the_other_request(user, challenge_id, *args, **kwargs):
        Challenge.objects.filter(pk=challenge_id).update(verified_at=timezone.now())
        raise errors.ChallengeAlreadyVerified()

    url = step_up_url(SENSITIVE)
    stale.get(url)
    monkeypatch.setattr(services, "verify_challenge", won_by_the_other_request)
    response = stale.post(url, {"factor": "TOTP", "code": code_for(device)})
    assert response["Location"] == SENSITIVE
    assert is_logged_in(stale)


def test_waiting_out_a_challenge_with_wrong_codes_signs_out(stale, device, clock):
    url = step_up_url(SENSITIVE)
    assert stale.post(url, {"factor": "TOTP", "code": "000000"}).status_code == 400
    clock.shift(601)
    response = stale.get(url)
    assert response["Location"] == reverse("login")
    assert not is_logged_in(stale)


def test_an_abandoned_challenge_without_wrong_codes_is_renewed(stale, device, clock):
    url = step_up_url(SENSITIVE)
    assert stale.get(url).status_code == 200
    clock.shift(601)
    assert stale.get(url).status_code == 200
    assert Challenge.objects.filter(user=device.user, verified_at__isnull=True).count() == 2
    assert stale.post(url, {"factor": "TOTP", "code": code_for(device)})["Location"] == SENSITIVE


def test_the_step_up_form_needs_csrf(stale, csrf_client, device):
    csrf_client.cookies = stale.cookies
    url = step_up_url(SENSITIVE)
    assert csrf_client.get(url).status_code == 200
    response = csrf_client.post(url, {"factor": "TOTP", "code": code_for(device)})
    assert response.status_code == 403
    assert csrf_client.get(SENSITIVE).status_code == 302


def test_the_step_up_page_needs_a_login(client, db):
    response = client.get(STEP_UP)
    assert response["Location"].startswith(reverse("login"))


def test_json_requests_get_a_401_naming_the_step_up_page(stale):
    response = stale.get("/step-up-test/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": {
            "code": "mfa_step_up_required",
            "message": "Confirm it is you with two-step verification to continue.",
            "url": step_up_url("/step-up-test/api/"),
        }
    }


# --- a factor restriction -------------------------------------------------------------------


@pytest.fixture
def authenticator():
    return SoftwareAuthenticator()


@pytest.fixture
def key(device, authenticator):
    services.regenerate_recovery_codes(device.user)
    return stored_credential(device.user, authenticator)


def test_a_key_only_page_refuses_a_totp_session_and_offers_only_the_key(
    signed_in, key, authenticator, device
):
    response = signed_in.get(KEYS_ONLY)  # signed in a moment ago, but with the app
    assert response["Location"] == step_up_url(KEYS_ONLY, ["WEBAUTHN"])
    page = signed_in.get(response["Location"])
    assert page.status_code == 200
    assert page.context["factor_type"] == "WEBAUTHN" and page.context["other_factors"] == []
    assert "authenticator app" not in page.content.decode().lower()
    # Asking for the app anyway is refused, and a valid app code does not count.
    asked = signed_in.get(response["Location"] + "&factor=TOTP")
    assert asked.context["factor_type"] == "WEBAUTHN"
    refused = signed_in.post(response["Location"], {"factor": "TOTP", "code": code_for(device)})
    assert refused.status_code == 400 and "needs another way" in refused.content.decode()
    assert signed_in.session[VERIFIED_KEY]["factor"] == "TOTP"
    assert signed_in.get(KEYS_ONLY).status_code == 302
    # The key passes, and the page opens.
    options = signed_in.get(response["Location"]).context["webauthn_options"]
    done = signed_in.post(
        response["Location"], {"factor": "WEBAUTHN", "code": authenticator.get(options)}
    )
    assert done.status_code == 302 and done["Location"] == KEYS_ONLY
    assert signed_in.get(KEYS_ONLY).status_code == 200


def test_a_forged_or_dropped_restriction_gains_nothing(signed_in, key, device, clock):
    signed_in.get(KEYS_ONLY)
    forged = f"{STEP_UP}?factors=TOTP&{urlencode({'next': KEYS_ONLY})}"
    assert read_factors("TOTP") is None
    # Without a valid token the page offers any factor, but the app still does not count.
    clock.shift(30)
    done = signed_in.post(forged, {"factor": "TOTP", "code": code_for(device)})
    assert done["Location"] == KEYS_ONLY
    assert signed_in.get(KEYS_ONLY)["Location"] == step_up_url(KEYS_ONLY, ["WEBAUTHN"])


def test_each_tab_keeps_its_own_restriction(signed_in, key, device, clock):
    clock.shift(301)
    keys_step_up = signed_in.get(KEYS_ONLY)["Location"]
    any_step_up = signed_in.get(SENSITIVE)["Location"]
    assert signed_in.get(keys_step_up).context["factor_type"] == "WEBAUTHN"
    done = signed_in.post(any_step_up, {"factor": "TOTP", "code": code_for(device)})
    assert done["Location"] == SENSITIVE


def test_a_user_without_the_factor_a_page_needs_is_told_to_add_one(signed_in, device):
    response = signed_in.get(KEYS_ONLY, follow=True)
    assert response.status_code == 403
    assert response.redirect_chain == [(step_up_url(KEYS_ONLY, ["WEBAUTHN"]), 302)]
    body = response.content.decode()
    assert "Security key or passkey" in body
    assert f'href="{reverse("mfa_app:security")}">{ADD_ONE}' in body
    assert not Challenge.objects.filter(user=device.user, verified_at__isnull=True).exists()
    assert is_logged_in(signed_in)


def test_json_requests_without_a_usable_factor_are_sent_to_the_security_page(signed_in):
    response = signed_in.get(KEYS_ONLY, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_enrollment_required"
    assert response.json()["error"]["url"] == reverse("mfa_app:security")


def test_a_login_without_mfa_is_asked_to_enroll_not_looped(client, db):
    user = UserFactory()  # OPTIONAL policy, no factor: the password alone signed in
    password_login(client, user)
    assert is_logged_in(client)
    response = client.get(SENSITIVE, follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) == 1
    assert "set up" in response.content.decode()
    assert ADD_ONE in response.content.decode()


def test_a_policy_that_forbids_the_factor_says_to_ask_an_administrator(signed_in, app_policy, key):
    app_policy.allowed_factors = ["TOTP"]
    app_policy.save()
    response = signed_in.get(KEYS_ONLY, follow=True)
    assert response.status_code == 403
    assert "administrator" in response.content.decode()
    assert ADD_ONE not in response.content.decode()


# --- the mixin and the decorator's arguments --------------------------------------------------


def test_the_mixin_applies_its_max_age_and_factors(signed_in, clock, device):
    assert signed_in.get("/step-up-test/mixin/").status_code == 200
    clock.shift(61)
    response = signed_in.get("/step-up-test/mixin/")
    assert response["Location"] == step_up_url("/step-up-test/mixin/", ["TOTP"])
    done = signed_in.post(response["Location"], {"factor": "TOTP", "code": code_for(device)})
    assert done["Location"] == "/step-up-test/mixin/"
    assert signed_in.get("/step-up-test/mixin/").status_code == 200


def test_the_mixin_sends_anonymous_users_to_log_in(client, db):
    assert client.get("/step-up-test/mixin/")["Location"].startswith(reverse("login"))


def test_a_recovery_code_steps_up_a_page_without_a_restriction(stale, device):
    codes = services.regenerate_recovery_codes(device.user)
    url = step_up_url(SENSITIVE)
    done = stale.post(url, {"factor": "RECOVERY", "code": codes[0]})
    assert done["Location"] == SENSITIVE
    assert stale.session[VERIFIED_KEY]["factor"] == "RECOVERY"


@pytest.mark.parametrize("factors", [[], ["PASSWORD"], ["RECOVERY"]])
def test_unknown_factor_types_are_refused_at_decoration(factors):
    with pytest.raises(ValueError, match="factor types"):
        mfa_required(factors=factors)


def test_a_view_may_be_decorated_without_arguments():
    def view(request):
        return None

    assert mfa_required(view).__wrapped__ is view
    assert mfa_required()(view).__wrapped__ is view
