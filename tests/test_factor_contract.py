"""One contract for every registered factor, through the factor classes and services.

Each factor type gets a driver below: how a user enrolls it and how they answer a challenge
with it, the way the real thing would (an app computing a TOTP code, a phone reading a text,
a security key signing). A factor registered later fails ``test_every_factor_has_a_driver``
until it gets one, and is then checked like the others.
"""

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.template.loader import get_template
from django.test import RequestFactory
from django.urls import reverse

from mfa_app import errors, services
from mfa_app.conf import app_settings
from mfa_app.factors import (
    enrollable_factors,
    factor_for_device,
    fallback_factor,
    get_factor,
    registered_factors,
)
from mfa_app.factors.recovery import generate_code as new_recovery_code
from mfa_app.models import EmailFactor, FactorType, MFAEvent, SMSFactor
from mfa_app.policy import policy_for

from .factories import TOTPFactorFactory, code_for
from .webauthn_authenticator import SoftwareAuthenticator

Kind = MFAEvent.Kind
START = datetime(2030, 1, 15, 12, 0, 10).astimezone()
# Past the resend cooldown and into a new TOTP step, well within a code's lifetime.
LATER = timedelta(seconds=61)

pytestmark = pytest.mark.usefixtures("allow_codes")


def six_digits(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- drivers --------------------------------------------------------------------------------


class Driver:
    """How a person uses one factor type; the contract below only calls these."""

    factor_type: str
    # The event that says the factor was added, and the factor type it names.
    enrolled_event = Kind.ENROLLED

    @property
    def audited_type(self) -> str:
        return self.factor_type

    # Each answer spends the offer (a WebAuthn challenge): a retry needs a new one.
    answer_spends_offer = False

    def __init__(self, sms_outbox: list) -> None:
        self.sms_outbox = sms_outbox

    @property
    def factor(self) -> Any:
        return get_factor(self.factor_type)

    def begin_details(self, user: Any) -> dict[str, Any]:
        return {}

    def enrollment_answer(self, offer: Any) -> str:
        raise NotImplementedError

    def bad_enrollment_answers(self, offer: Any) -> list[str]:
        raise NotImplementedError

    def enroll(self, user: Any, request: Any) -> Any:
        offer = self.factor.begin_enrollment(user, request, **self.begin_details(user))
        state = self.factor.enrollment_state(offer)
        return self.factor.confirm_enrollment(user, self.enrollment_answer(offer), request, **state)

    def challenge_answer(self, user: Any, setup: dict[str, Any]) -> str:
        raise NotImplementedError

    def wrong_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return another_code(self.challenge_answer(user, setup))


class TOTPDriver(Driver):
    factor_type = FactorType.TOTP

    def enrollment_answer(self, offer: Any) -> str:
        return code_for(offer.secret)

    def bad_enrollment_answers(self, offer: Any) -> list[str]:
        return [another_code(code_for(offer.secret)), "12ab56", "9" * 5000]

    def challenge_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return code_for(self.factor.devices(user).get())


class CodeDriver(Driver):
    def bad_enrollment_answers(self, offer: Any) -> list[str]:
        return [another_code(self.last_code()), "abcdef", "1" * 5000]

    def enrollment_answer(self, offer: Any) -> str:
        return self.last_code()

    def challenge_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return self.last_code()

    def last_code(self) -> str:
        raise NotImplementedError


class SMSDriver(CodeDriver):
    factor_type = FactorType.SMS

    def begin_details(self, user: Any) -> dict[str, Any]:
        return {"destination": "+1 415 555 2671"}

    def last_code(self) -> str:
        return six_digits(self.sms_outbox[-1].body)


class EmailDriver(CodeDriver):
    factor_type = FactorType.EMAIL

    def last_code(self) -> str:
        return six_digits(mail.outbox[-1].subject)


class WebAuthnDriver(Driver):
    factor_type = FactorType.WEBAUTHN
    answer_spends_offer = True

    def __init__(self, sms_outbox: list) -> None:
        super().__init__(sms_outbox)
        self.authenticator = SoftwareAuthenticator()

    def enrollment_answer(self, offer: Any) -> str:
        return self.authenticator.create(offer)

    def bad_enrollment_answers(self, offer: Any) -> list[str]:
        return [
            self.authenticator.create(offer, origin="https://evil.example"),
            "{not json",
            "x" * 70_000,
        ]

    def challenge_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return self.authenticator.get(setup["webauthn_options"])

    def wrong_answer(self, user: Any, setup: dict[str, Any]) -> str:
        forger = ec.generate_private_key(ec.SECP256R1())
        return self.authenticator.get(setup["webauthn_options"], signing_key=forger)


class RecoveryDriver(Driver):
    factor_type = "RECOVERY"
    enrolled_event = Kind.RECOVERY_CODES_GENERATED
    audited_type = ""

    def enroll(self, user: Any, request: Any) -> Any:
        # Recovery codes back up another factor: they are issued, never confirmed.
        TOTPFactorFactory(user=user)
        self.codes = services.recovery_codes_after_enrollment(user, request)
        return self.factor.devices(user).get()

    def challenge_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return self.codes[0]

    def wrong_answer(self, user: Any, setup: dict[str, Any]) -> str:
        return new_recovery_code()


DRIVERS = {
    d.factor_type: d for d in (TOTPDriver, SMSDriver, EmailDriver, WebAuthnDriver, RecoveryDriver)
}
FACTOR_TYPES = [f.type for f in registered_factors()]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(params=FACTOR_TYPES)
def driver(request, sms_outbox) -> Driver:
    if request.param not in DRIVERS:
        pytest.fail(f"{request.param} is registered but has no driver in this module")
    return DRIVERS[request.param](sms_outbox)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def http_request(db):
    """A browser's request: WebAuthn keeps its challenges in the session."""
    request = RequestFactory().get("/")
    request.session = SessionStore()
    return request


def events(user: Any, kind: str, factor_type: str) -> int:
    return MFAEvent.objects.filter(user=user, kind=kind, factor_type=factor_type).count()


def open_challenge(driver: Driver, user: Any, request: Any) -> tuple[Any, dict[str, Any]]:
    """Start a sign-in's challenge and prepare the answer (send the code, build options)."""
    challenge = services.start_challenge(user, request)
    return challenge, begin(driver, user, challenge, request)


def begin(driver: Driver, user: Any, challenge: Any, request: Any) -> dict[str, Any]:
    methods = services.challenge_methods(user)
    method = next(m for m in methods if m.factor_type == driver.factor_type)
    return services.begin_challenge(
        user, driver.factor_type, request, challenge_id=challenge.pk, device_id=method.device_id
    )


def answer(driver: Driver, user: Any, challenge: Any, code: str, request: Any) -> Any:
    return services.verify_challenge(user, challenge.pk, driver.factor_type, code, request)


# --- the contract ---------------------------------------------------------------------------


def test_every_factor_has_a_driver():
    assert set(FACTOR_TYPES) <= set(DRIVERS), "add a driver for each new factor"


def test_enrolling_saves_a_confirmed_factor_and_audits_it(driver, user, http_request, clock):
    device = driver.enroll(user, http_request)
    device.refresh_from_db()
    assert device.confirmed and device.user_id == user.pk
    assert factor_for_device(device) is driver.factor
    assert services.factor_type_of(device) == driver.factor_type
    assert driver.factor.devices(user).filter(pk=device.pk).exists()
    assert events(user, driver.enrolled_event, driver.audited_type) == 1


def test_a_valid_answer_passes_a_challenge_once(driver, user, http_request, clock):
    driver.enroll(user, http_request)
    clock.shift(LATER)
    challenge, setup = open_challenge(driver, user, http_request)
    code = driver.challenge_answer(user, setup)
    verification = answer(driver, user, challenge, code, http_request)
    assert verification.factor_type == driver.factor_type
    assert factor_for_device(verification.device) is driver.factor
    assert events(user, Kind.VERIFIED, driver.factor_type) == 1

    # The same answer, replayed at the next sign-in, is refused and counted.
    replay, _setup = open_challenge(driver, user, http_request)
    with pytest.raises(errors.InvalidCode) as refused:
        answer(driver, user, replay, code, http_request)
    assert refused.value.extra["attempts_left"] == app_settings.MAX_ATTEMPTS - 1
    assert events(user, Kind.VERIFIED, driver.factor_type) == 1


def test_a_wrong_answer_is_counted_and_audited(driver, user, http_request, clock):
    driver.enroll(user, http_request)
    clock.shift(LATER)
    challenge, setup = open_challenge(driver, user, http_request)
    for failures in (1, 2):
        with pytest.raises(errors.InvalidCode) as refused:
            answer(driver, user, challenge, driver.wrong_answer(user, setup), http_request)
        assert refused.value.extra["attempts_left"] == app_settings.MAX_ATTEMPTS - failures
        assert events(user, Kind.FAILED, driver.factor_type) == failures
        # The page shown again: a fresh WebAuthn challenge; a code already sent stays.
        setup = begin(driver, user, challenge, http_request)
    assert events(user, Kind.VERIFIED, driver.factor_type) == 0


def test_bad_enrollment_answers_save_and_spend_nothing(driver, user, http_request, clock):
    if driver.factor.is_fallback:
        pytest.skip("a fallback is issued, not confirmed: there is no enrollment answer")
    factor, details = driver.factor, driver.begin_details(user)
    offer = factor.begin_enrollment(user, http_request, **details)
    for bad in driver.bad_enrollment_answers(offer):
        with pytest.raises(errors.MFAError):
            factor.confirm_enrollment(user, bad, http_request, **factor.enrollment_state(offer))
        assert not factor.model.objects.filter(user=user).exists()
        assert events(user, Kind.ENROLLED, factor.type) == 0
        if driver.answer_spends_offer:
            offer = factor.begin_enrollment(user, http_request, **details)
    # The code sent, the secret offered, the key presented: still good for a right answer.
    device = factor.confirm_enrollment(
        user, driver.enrollment_answer(offer), http_request, **factor.enrollment_state(offer)
    )
    assert device.confirmed
    assert events(user, Kind.ENROLLED, factor.type) == 1


def test_a_policy_that_does_not_allow_the_factor_refuses_to_begin(
    driver, user, http_request, app_policy, sms_outbox
):
    if driver.factor.is_fallback:
        app_policy.recovery_codes_enabled = False
    else:
        app_policy.allowed_factors = [t for t in FactorType.values if t != driver.factor_type]
    app_policy.save()
    assert not driver.factor.allowed_by(policy_for(user))
    assert driver.factor not in enrollable_factors(user, policy_for(user))
    if driver.factor.is_fallback:
        assert services.recovery_codes_after_enrollment(user) == []
        return
    with pytest.raises(errors.FactorNotAllowed):
        driver.factor.begin_enrollment(user, http_request, **driver.begin_details(user))
    assert sms_outbox == [] and mail.outbox == []


# --- presentation and policy ----------------------------------------------------------------


@pytest.mark.parametrize("factor", registered_factors(), ids=FACTOR_TYPES)
def test_every_factor_can_be_presented(factor):
    assert str(factor.label) and factor.icon and str(factor.description)
    assert isinstance(factor.numeric_answer, bool) and isinstance(factor.typed_answer, bool)
    if factor.is_fallback:
        assert factor.enroll_url_name is None and factor.policy_name is None
        return
    assert reverse(factor.enroll_url_name).startswith("/")
    get_template(factor.enroll_template)
    # The policy's allowed_factors field offers FactorType's choices only.
    assert factor.policy_name in FactorType.values


def test_the_switch_labels_name_each_factor_and_where_codes_go(driver, user, http_request, clock):
    driver.enroll(user, http_request)
    methods = [m for m in services.challenge_methods(user) if m.factor_type == driver.factor_type]
    assert methods
    for method in methods:
        label = driver.factor.switch_label(method)
        assert label and "%(" not in label
        if method.device is not None and driver.factor.masked_destination(method.device):
            assert driver.factor.masked_destination(method.device) in label


def test_the_challenge_pages_link_texts_are_the_factors():
    """Pinned: moved from the challenge view, word for word."""
    phone = services.ChallengeMethod(FactorType.SMS, SMSFactor(number="+14155552671"))
    address = services.ChallengeMethod(FactorType.EMAIL, EmailFactor(email="user@example.com"))
    one_for_all = services.ChallengeMethod(FactorType.TOTP)
    totp, recovery = get_factor(FactorType.TOTP), fallback_factor()
    assert totp.switch_label(one_for_all) == "Use your authenticator app"
    assert totp.switch_label(one_for_all, recovery.type) == "Use a one-time code"
    webauthn = get_factor(FactorType.WEBAUTHN)
    assert webauthn.switch_label(one_for_all) == "Use your security key or passkey"
    # The masked destination is a left-to-right island (right-to-left pages).
    assert get_factor(FactorType.SMS).switch_label(phone) == (
        f'Text a code to <bdi dir="ltr">{phone.device.masked_destination}</bdi>'
    )
    assert get_factor(FactorType.EMAIL).switch_label(address) == (
        f'Email a code to <bdi dir="ltr">{address.device.masked_destination}</bdi>'
    )
    assert recovery.switch_label(one_for_all) == "Use a recovery code"


def test_enrollable_factors_come_in_menu_order_and_only_those_the_user_can_add(user):
    policy = policy_for(user)
    in_menu = [f.type for f in enrollable_factors(user, policy)]
    assert in_menu == ["TOTP", "WEBAUTHN", "SMS", "EMAIL"]
    email = get_factor(FactorType.EMAIL)
    address = email.begin_enrollment(user)
    email.confirm_enrollment(user, six_digits(mail.outbox[-1].subject), destination=address)
    assert FactorType.EMAIL not in [f.type for f in enrollable_factors(user, policy)]
