"""Junk at every form, URL, cookie and header: a 4xx or a form error, never a 500, no change.

Hypothesis throws arbitrary text (control characters, NUL, bidi marks, emoji), digits from
other scripts, huge bodies and malformed or mutated WebAuthn JSON at each input. Every example
gets a fresh user and client (one test is one database transaction, shared by its examples),
and asserts what junk must never change: the user's factors and their names, passed challenges,
trusted browsers, sent codes where none should go, and the login itself.
"""

import json
import re
import unicodedata
from urllib.parse import quote, urlencode

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail, signing
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_app import devices, senders, services
from mfa_app.conf import app_settings
from mfa_app.login_state import AUTH_AT_KEY
from mfa_app.models import (
    Challenge,
    EmailFactor,
    MFAEvent,
    RecoveryCode,
    RecoveryCodeSet,
    SentCode,
    SMSFactor,
    TOTPFactor,
    TrustedDevice,
    WebAuthnCredential,
)

from .conftest import password_login, sign_in_with_mfa
from .factories import (
    PASSWORD,
    EmailFactorFactory,
    SMSFactorFactory,
    TOTPFactorFactory,
    UserFactory,
    code_for,
)
from .webauthn_authenticator import SoftwareAuthenticator, b64, stored_credential

pytestmark = pytest.mark.usefixtures("allow_codes")

CHALLENGE = reverse("mfa_app:challenge")
STEP_UP = reverse("mfa_app:step_up")
PASSKEY = reverse("mfa_app:passkey_login")
REAUTH = reverse("mfa_app:reauthenticate")
ENROLL = {
    "TOTP": reverse("mfa_app:enroll_totp"),
    "SMS": reverse("mfa_app:enroll_sms"),
    "EMAIL": reverse("mfa_app:enroll_email"),
    "WEBAUTHN": reverse("mfa_app:enroll_webauthn"),
}
PHONE = "+14155552671"
# A fresh user, login and page per example: slower than one shared session, but each example
# starts from the same state, so a failure replays and shrinks.
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# For examples that sign in with MFA or make several requests.
FEW = settings(FUZZ, max_examples=12)

# --- what to throw ------------------------------------------------------------------------------

# Anything a browser can encode: every code point but lone surrogates.
CHARS = st.characters(codec="utf-8")
ODD_CHARS = st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Nd", "No"])
TRICKY = [
    "",
    " ",
    "\x00",
    "123\x00456",
    "\u202e654321",
    "\u200f123456\u200e",
    "\ufeff123456",
    "123\u00a0456",
    "١٢٣٤٥٦",
    "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth
    "¹²³⁴⁵⁶",
    "²",
    "😀" * 6,
    "9" * 5000,
    "-1",
    "1e3",
    "0x1f",
    "null",
    "[]",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\r\n\r\n",
]
junk = st.one_of(
    st.text(CHARS, max_size=80),
    st.text(ODD_CHARS, max_size=12),
    st.sampled_from(TRICKY),
)
FACTOR_NAMES = st.sampled_from(["TOTP", "SMS", "EMAIL", "WEBAUTHN", "RECOVERY"])
# Header values reach Django as latin-1 strings; servers refuse control characters in them.
HEADER_CHARS = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])


def as_header(value: str) -> str:
    """How a server hands Django a UTF-8 header: as latin-1 text (PEP 3333)."""
    return value.encode().decode("latin-1")


header_junk = st.text(HEADER_CHARS, max_size=120).map(as_header)


def _digit_sets() -> list[str]:
    """The ten digits of every script Unicode has, then a few that are not digits (No)."""
    zeros = [
        chr(cp)
        for cp in range(0x20000)
        if unicodedata.category(chr(cp)) == "Nd" and unicodedata.digit(chr(cp)) == 0
    ]
    sets = ["".join(chr(ord(zero) + n) for n in range(10)) for zero in zeros if zero != "0"]
    return [*sets, "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉", "⓪①②③④⑤⑥⑦⑧⑨"]


DIGIT_SETS = _digit_sets()


@st.composite
def lookalikes(draw, code: str) -> str:
    """``code`` with some of its digits (at least one) written in another script."""
    digits = draw(st.sampled_from(DIGIT_SETS))
    swap = draw(st.lists(st.booleans(), min_size=len(code), max_size=len(code)).filter(any))
    return "".join(digits[int(ch)] if s else ch for ch, s in zip(code, swap, strict=True))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(CHARS, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
B64_JUNK = st.one_of(
    st.binary(max_size=200).map(b64),
    JSON_VALUES.map(lambda v: b64(json.dumps(v).encode())),
    st.text(CHARS, max_size=40),
)
DEEP = st.integers(1, 30_000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n])
)
JSON_JUNK = st.one_of(JSON_VALUES.map(json.dumps), st.text(CHARS, max_size=200), DEEP)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))


@st.composite
def mutated(draw, valid: str) -> str:
    """A browser's WebAuthn JSON with one part swapped, dropped or cut; or junk instead."""
    how = draw(st.sampled_from(["replace", "replace", "delete", "truncate", "junk"]))
    if how == "junk":
        return draw(JSON_JUNK)
    if how == "truncate":
        # The valid JSON's length varies (DER signatures): draw a cut that does not depend on it.
        return valid[: draw(st.integers(0, 2048)) % len(valid)]
    doc = json.loads(valid)
    path = draw(st.sampled_from([p for p in _paths(doc) if p]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.one_of(B64_JUNK, JSON_VALUES))
    return json.dumps(doc)


# What the relying party verifies; the rest of a browser's JSON (transports, the copies of
# authenticatorData and publicKey in a registration) is informational and may change.
# The user handle is not signed: a second factor may go without it, a passkey login may not.
ASSERTION_PARTS = ("clientDataJSON", "authenticatorData", "signature")
PASSKEY_PARTS = (*ASSERTION_PARTS, "userHandle")
REGISTRATION_PARTS = ("clientDataJSON", "attestationObject")


def signed_parts(document: str, parts: tuple[str, ...] = ASSERTION_PARTS):
    """The parts of a WebAuthn response that are checked, or ``None`` if it cannot be read."""
    try:
        doc = json.loads(document)
        return doc["id"], doc["rawId"], [doc["response"].get(k) for k in parts]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


# --- the world each example starts from ---------------------------------------------------------


@pytest.fixture(autouse=True)
def _roomy_limits():
    """Hundreds of sign-ins from one IP and one number: lift the limits this is not about."""
    many = 10**6
    with override_settings(
        MFA_IP_ATTEMPTS_PER_HOUR=many,
        MFA_IP_SENDS_PER_DAY=many,
        MFA_CODE_SENDS_PER_USER_PER_DAY=many,
        MFA_CODE_SENDS_PER_DESTINATION_PER_DAY=many,
    ):
        yield


def new_client() -> Client:
    return Client(raise_request_exception=False)


def pending(user) -> Client:
    client = new_client()
    assert password_login(client, user).status_code == 302
    return client


def signed_in(user) -> Client:
    """Signed in with an authenticator app just now (one is added if the user has none)."""
    client = new_client()
    sign_in_with_mfa(client, user)
    return client


def bare_signed_in():
    """A user without any factor, signed in just now: free to enroll one."""
    user = UserFactory()
    client = new_client()
    client.force_login(user)
    return user, client


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def post(client: Client, url: str, data: dict, **extra):
    body = urlencode(data, doseq=True)
    return client.post(url, body, content_type="application/x-www-form-urlencoded", **extra)


def no_500(response, sent) -> None:
    assert response.status_code < 500, f"{response.status_code} for {sent!r:.500}"


FACTOR_MODELS = (TOTPFactor, SMSFactor, EmailFactor, WebAuthnCredential, RecoveryCodeSet)
# Events a refused answer or a page view may add; any other kind means something happened.
NOISE = ["failed", "decision", "challenged", "code_sent"]


def state(user) -> dict:
    """What junk must never change."""
    return {
        "factors": sorted(
            (model.__name__, *row)
            for model in FACTOR_MODELS
            for row in model.objects.filter(user=user).values_list(
                "pk", "name", "confirmed", "is_primary"
            )
        ),
        "recovery codes": RecoveryCode.objects.filter(code_set__user=user, used_at=None).count(),
        "passed": Challenge.objects.filter(user=user, verified_at__isnull=False).count(),
        "trusted": TrustedDevice.objects.filter(user=user, revoked_at=None).count(),
        "events": sorted(
            MFAEvent.objects.filter(user=user)
            .exclude(kind__in=NOISE)
            .values_list("kind", flat=True)
        ),
    }


def sent_codes(user) -> int:
    return SentCode.objects.filter(user=user).count()


def last_code(factor: str = "SMS") -> str:
    """The code in the latest text message, or the latest email's subject."""
    text = senders.outbox[-1].body if factor == "SMS" else mail.outbox[-1].subject
    return re.search(r"\b(\d{6})\b", text).group(1)


# --- the challenge after the password ------------------------------------------------------------


@FUZZ
@given(
    st.fixed_dictionaries(
        {"code": junk},
        optional={
            "factor": junk | FACTOR_NAMES,
            "device": junk,
            "resend": junk,
            "remember": st.one_of(junk, st.just("1")),
        },
    )
)
def test_junk_answers_to_the_challenge_are_refused(data):
    device = TOTPFactorFactory()
    services.regenerate_recovery_codes(device.user)
    client = pending(device.user)
    before, sent = state(device.user), sent_codes(device.user)
    response = post(client, CHALLENGE, data)
    no_500(response, data)
    assert response.status_code in (302, 400)
    assert not logged_in(client)
    assert state(device.user) == before
    assert sent_codes(device.user) == sent


@FUZZ
@given(
    st.fixed_dictionaries({}, optional={"factor": junk | FACTOR_NAMES, "device": junk}),
    st.data(),
)
def test_junk_in_the_challenge_query_string_is_harmless(query, data):
    user = SMSFactorFactory().user
    email = EmailFactorFactory(user=user, is_primary=False)
    TOTPFactorFactory(user=user, is_primary=False)
    # Sometimes a real device, under whatever method was asked for.
    if data.draw(st.booleans()):
        query["device"] = str(email.pk)
    client = pending(user)
    before = state(user)
    response = client.get(CHALLENGE, query)
    no_500(response, query)
    assert response.status_code in (200, 400)
    assert not logged_in(client)
    assert state(user) == before


@FUZZ
@given(st.data())
def test_junk_answers_to_sent_codes_are_refused(data):
    phone = SMSFactorFactory()
    user = phone.user
    address = EmailFactorFactory(user=user, is_primary=False)
    client = pending(user)
    method = data.draw(st.sampled_from([("SMS", phone), ("EMAIL", address)]))
    assert client.get(CHALLENGE, {"factor": method[0], "device": method[1].pk}).status_code == 200
    form = {
        "factor": data.draw(st.one_of(st.just(method[0]), junk)),
        "device": data.draw(st.one_of(st.just(str(method[1].pk)), junk)),
        "code": data.draw(st.one_of(junk, lookalikes(last_code(method[0])))),
    }
    if data.draw(st.booleans()):
        form["resend"] = data.draw(junk)
    before, sent = state(user), sent_codes(user)
    response = post(client, CHALLENGE, form)
    no_500(response, form)
    assert not logged_in(client)
    assert state(user) == before
    # Only a resend for a real method sends a code (its cooldown may refuse it).
    assert sent_codes(user) <= sent + ("resend" in form)


def _totp_challenge():
    device = TOTPFactorFactory()
    client = pending(device.user)
    return client, CHALLENGE, {"factor": "TOTP"}, code_for(device), lambda: logged_in(client)


def _sms_challenge():
    phone = SMSFactorFactory()
    client = pending(phone.user)
    client.get(CHALLENGE)
    form = {"factor": "SMS", "device": phone.pk}
    return client, CHALLENGE, form, last_code(), lambda: logged_in(client)


def _totp_enrollment():
    user, client = bare_signed_in()
    secret = client.get(ENROLL["TOTP"]).context["setup"].secret
    enrolled = TOTPFactor.objects.filter(user=user).exists
    return client, ENROLL["TOTP"], {}, pyotp.TOTP(secret).now(), enrolled


def _sms_enrollment():
    user, client = bare_signed_in()
    assert post(client, ENROLL["SMS"], {"send": "1", "destination": PHONE}).status_code == 302
    return client, ENROLL["SMS"], {}, last_code(), SMSFactor.objects.filter(user=user).exists


def _reauthentication():
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    signed_in_at = client.session[AUTH_AT_KEY]
    # The code that signed in is spent; the next one is within the drift allowed.
    code = code_for(device, 1)
    return client, REAUTH, {}, code, lambda: client.session[AUTH_AT_KEY] != signed_in_at


@pytest.mark.parametrize(
    "scenario",
    [_totp_challenge, _sms_challenge, _totp_enrollment, _sms_enrollment, _reauthentication],
    ids=lambda f: f.__name__.strip("_"),
)
@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_the_right_code_in_another_scripts_digits_is_refused(scenario, data):
    client, url, form, code, accepted = scenario()
    lookalike = data.draw(lookalikes(code))
    response = post(client, url, {**form, "code": lookalike})
    assert response.status_code == 400, lookalike
    assert not accepted()
    # The same code in ASCII digits is accepted: the refusal was about the digits alone.
    assert post(client, url, {**form, "code": code}).status_code < 400
    assert accepted()


# --- WebAuthn -----------------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_junk_security_key_answers_are_refused(data):
    authenticator = SoftwareAuthenticator()
    user = UserFactory()
    stored_credential(user, authenticator)
    client = pending(user)
    page = client.get(CHALLENGE, {"factor": "WEBAUTHN"})
    valid = authenticator.get(page.context["webauthn_options"])
    answer = data.draw(mutated(valid))
    before = state(user)
    response = post(client, CHALLENGE, {"factor": "WEBAUTHN", "code": answer})
    no_500(response, answer)
    if logged_in(client):
        # Only an answer whose signed parts are intact may pass.
        assert signed_parts(answer) == signed_parts(valid), answer
    else:
        assert state(user) == before


@settings(FUZZ, max_examples=50)
@given(st.data())
def test_junk_passkey_logins_are_refused(data):
    authenticator = SoftwareAuthenticator(backup_eligible=True, backed_up=True)
    user = UserFactory()
    stored_credential(user, authenticator)
    client = new_client()
    valid = authenticator.get(client.get(PASSKEY).json())
    form = {"code": data.draw(mutated(valid))}
    if data.draw(st.booleans()):
        form["next"] = data.draw(junk)
    before = state(user)
    response = post(client, PASSKEY, form)
    no_500(response, form)
    assert response.status_code == 302
    if logged_in(client):
        parts = PASSKEY_PARTS
        assert signed_parts(form["code"], parts) == signed_parts(valid, parts), form
    else:
        assert state(user) == before


@FUZZ
@given(st.data())
def test_junk_security_key_registrations_add_no_key(data):
    user, client = bare_signed_in()
    options = client.get(ENROLL["WEBAUTHN"]).context["webauthn_options"]
    valid = SoftwareAuthenticator().create(options)
    form = {"credential": data.draw(mutated(valid))}
    for field, values in (("name", junk), ("passkey", junk)):
        if data.draw(st.booleans()):
            form[field] = data.draw(values)
    response = post(client, ENROLL["WEBAUTHN"], form)
    no_500(response, form)
    added = WebAuthnCredential.objects.filter(user=user)
    if added.exists():
        parts = REGISTRATION_PARTS
        assert signed_parts(form["credential"], parts) == signed_parts(valid, parts), form
        assert "\x00" not in added.get().name
    else:
        assert response.status_code == 400


# --- enrollment -----------------------------------------------------------------------------------


@FUZZ
@given(junk)
def test_junk_authenticator_app_codes_enroll_nothing(code):
    user, client = bare_signed_in()
    assert client.get(ENROLL["TOTP"]).status_code == 200
    response = post(client, ENROLL["TOTP"], {"code": code})
    no_500(response, code)
    assert response.status_code == 400
    assert not TOTPFactor.objects.filter(user=user).exists()


# ASCII, Arabic-Indic and fullwidth digits and plus, punctuation, a bidi override, NUL.
PHONE_CHARS = st.sampled_from("+0123456789 -().xX#*,;١٢٣٤٥٦٧٨٩٠\uff11\uff12\uff0b\u202e\x00")
phone_numbers = st.one_of(
    junk,
    st.text(PHONE_CHARS, max_size=25),
    st.sampled_from(["+1", "+999999999999999", "+14155552671" * 10, "tel:+14155552671"]),
)
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@FUZZ
@given(phone_numbers)
def test_junk_phone_numbers_add_no_phone_and_text_only_e164_numbers(number):
    user, client = bare_signed_in()
    senders.outbox.clear()
    form = {"send": "1", "destination": number}
    response = post(client, ENROLL["SMS"], form)
    no_500(response, form)
    assert not SMSFactor.objects.filter(user=user).exists()
    for message in senders.outbox:
        assert E164.fullmatch(message.to), message.to


@FUZZ
@given(st.sampled_from(["SMS", "EMAIL"]), st.data())
def test_junk_enrollment_codes_enroll_nothing(factor, data):
    user, client = bare_signed_in()
    url = ENROLL[factor]
    assert post(client, url, {"send": "1", "destination": PHONE}).status_code == 302
    form = {"code": data.draw(junk)}
    if data.draw(st.booleans()):
        form["resend"] = data.draw(junk)
    response = post(client, url, form)
    no_500(response, form)
    assert not SMSFactor.objects.filter(user=user).exists()
    assert not EmailFactor.objects.filter(user=user).exists()


# --- managing factors and devices -----------------------------------------------------------------


path_junk = junk.filter(lambda s: s.strip("/"))


@FUZZ
@given(
    st.sampled_from(["rename", "primary", "remove"]),
    st.one_of(st.just("TOTP"), st.just("SMS"), path_junk),
    path_junk,
    st.fixed_dictionaries({}, optional={"name": junk}),
)
def test_junk_factor_urls_are_not_found(action, factor_type, pk, form):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    before = state(device.user)
    url = f"/mfa/factors/{quote(factor_type, safe='')}/{quote(pk, safe='')}/{action}/"
    response = post(client, url, form)
    no_500(response, url)
    if response.status_code != 404:
        # Only the user's own factor, named by its type and its id in ASCII digits, is found.
        assert (factor_type, pk) == ("TOTP", str(device.pk)), url
    else:
        assert state(device.user) == before


def trusted_browser(client, user) -> TrustedDevice:
    services.remember_device(user, client.get(reverse("mfa_app:security")).wsgi_request)
    return TrustedDevice.objects.get(user=user)


SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


@pytest.mark.parametrize(
    "spell",
    [
        lambda pk: "".join(SUPERSCRIPT[int(d)] for d in str(pk)),
        lambda pk: "0" * 4300 + str(pk),
        lambda pk: "".join(ARABIC_INDIC[int(d)] for d in str(pk)),
    ],
    ids=["superscript", "over 4300 digits", "arabic-indic"],
)
def test_factor_and_device_ids_are_ascii_digits_only(db, spell):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    trusted = trusted_browser(client, device.user)
    before = state(device.user)
    for action in ("rename", "primary", "remove"):
        url = f"/mfa/factors/TOTP/{quote(spell(device.pk))}/{action}/"
        assert post(client, url, {"name": "Renamed"}).status_code == 404, action
    revoke = post(client, reverse("mfa_app:revoke_devices"), {"device": spell(trusted.pk)})
    assert revoke.status_code == 404
    assert state(device.user) == before


@FUZZ
@given(junk)
def test_factor_names_are_tidied_or_refused(name):
    device = TOTPFactorFactory(name="Phone")
    client = signed_in(device.user)
    url = reverse("mfa_app:rename_factor", args=["TOTP", device.pk])
    response = post(client, url, {"name": name})
    no_500(response, name)
    device.refresh_from_db()
    if response.status_code == 302:
        assert device.name == " ".join(name.split())
        assert 0 < len(device.name) <= 64 and "\x00" not in device.name
    else:
        assert response.status_code == 400
        assert device.name == "Phone"


@FUZZ
@given(junk)
def test_junk_device_ids_revoke_nothing(device_id):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    trusted = trusted_browser(client, device.user)
    response = post(client, reverse("mfa_app:revoke_devices"), {"device": device_id})
    no_500(response, device_id)
    trusted.refresh_from_db()
    # No id means "all of them"; any other id must be this row's own.
    if trusted.revoked_at is not None:
        assert device_id in ("", str(trusted.pk)), device_id


@FUZZ
@given(st.fixed_dictionaries({}, optional={"password": junk, "code": junk, "next": junk}))
def test_junk_reauthentication_is_refused(form):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    before = state(device.user)
    response = post(client, REAUTH, form)
    no_500(response, form)
    assert response.status_code == 400
    assert state(device.user) == before


@FEW
@given(
    st.fixed_dictionaries({}, optional={"next": junk, "factors": junk}),
    st.fixed_dictionaries(
        {"code": junk}, optional={"factor": junk | FACTOR_NAMES, "device": junk, "resend": junk}
    ),
)
def test_junk_step_up_answers_are_refused(query, form):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    before = state(device.user)
    url = f"{STEP_UP}?{urlencode(query)}"
    no_500(client.get(url), query)
    response = post(client, url, form)
    no_500(response, (query, form))
    assert state(device.user) == before


@FEW
@given(st.dictionaries(junk, junk, max_size=5))
def test_junk_posts_to_pages_without_inputs_are_harmless(form):
    device = TOTPFactorFactory()
    client = signed_in(device.user)
    for name in ("regenerate_recovery_codes", "recovery_codes_done", "enroll_later", "cancel"):
        no_500(post(client, reverse(f"mfa_app:{name}"), form), (name, form))
    assert post(pending(device.user), reverse("mfa_app:enroll_later"), form).status_code < 500


# --- cookies and headers ------------------------------------------------------------------------


def signed_device_cookie(token: str) -> str:
    """A correctly signed ``mfa_device`` cookie around any token: only the server can mint one."""
    name = app_settings.DEVICE_COOKIE_NAME
    return signing.get_cookie_signer(salt=name + devices.COOKIE_SALT).sign(token)


cookie_junk = st.one_of(
    header_junk,
    st.text(HEADER_CHARS, min_size=43, max_size=43).map(signed_device_cookie).map(as_header),
    st.text(CHARS, max_size=60).map(signed_device_cookie).map(as_header),
)
xff_junk = st.one_of(
    header_junk,
    st.lists(
        st.one_of(st.ip_addresses().map(str), st.sampled_from(["fe80::1%eth0", "[::1]:443"])),
        max_size=4,
    ).map(", ".join),
)


@settings(FUZZ, max_examples=20)
@given(
    session=header_junk,
    device_cookie=cookie_junk,
    forwarded=xff_junk,
    user_agent=header_junk,
    proxies=st.sampled_from([{}, {"TRUSTED_PROXY_COUNT": 1}, {"TRUSTED_PROXIES": ["127.0.0.0/8"]}]),
)
def test_junk_cookies_and_forwarded_addresses_are_harmless(
    session, device_cookie, forwarded, user_agent, proxies
):
    device = TOTPFactorFactory()
    headers = {"HTTP_X_FORWARDED_FOR": forwarded, "HTTP_USER_AGENT": user_agent}
    with override_settings(**{f"MFA_{k}": v for k, v in proxies.items()}):
        client = new_client()
        # A junk session cookie; then a junk device cookie beside a real login's session, where
        # the risk checks read it, remembering the browser replaces it.
        cookie = f"sessionid={session}; mfa_device={device_cookie}"
        no_500(client.get(CHALLENGE, HTTP_COOKIE=cookie, **headers), cookie)
        client.cookies["mfa_device"] = device_cookie
        form = {"username": device.user.get_username(), "password": PASSWORD}
        no_500(post(client, reverse("login"), form, **headers), headers)
        for answer in ({"code": "000000"}, {"code": code_for(device), "remember": "1"}):
            no_500(post(client, CHALLENGE, answer, **headers), headers)
        no_500(client.get(reverse("mfa_app:security"), **headers), headers)
        assert logged_in(client)


@override_settings(MFA_TRUSTED_PROXY_COUNT=1)
def test_a_forwarded_address_with_a_zone_id_is_not_stored(db):
    device = TOTPFactorFactory()
    client = new_client()
    form = {"username": device.user.get_username(), "password": PASSWORD}
    forwarded = "fe80::1%" + "x" * 40
    assert post(client, reverse("login"), form, HTTP_X_FORWARDED_FOR=forwarded).status_code == 302
    stored = MFAEvent.objects.filter(user=device.user).values_list("ip_address", flat=True)
    assert not any("%" in (address or "") for address in stored), list(stored)


# --- huge bodies ----------------------------------------------------------------------------------


def _huge_targets():
    device = TOTPFactorFactory()
    user, client = bare_signed_in()
    key = stored_credential(user, SoftwareAuthenticator(), name="Key")
    return [
        (pending(device.user), CHALLENGE, "code"),
        (client, ENROLL["TOTP"], "code"),
        (client, ENROLL["SMS"], "destination"),
        (client, ENROLL["WEBAUTHN"], "credential"),
        (client, REAUTH, "password"),
        (client, reverse("mfa_app:rename_factor", args=["WEBAUTHN", key.pk]), "name"),
        (new_client(), PASSKEY, "code"),
    ]


@pytest.mark.parametrize("size", [100_000, 1_000_000])
def test_huge_values_get_a_form_error(db, size):
    for client, url, field in _huge_targets():
        # About ``size`` bytes once encoded, under Django's 2.5 MB limit: the view reads them.
        for value in ("7" * size, "[😀" * (size // 15)):
            response = post(client, url, {field: value, "send": "1"})
            no_500(response, (url, field, size))


def test_bodies_past_djangos_limits_get_a_400(db):
    client = pending(TOTPFactorFactory().user)
    assert post(client, CHALLENGE, {"code": "7" * 3_000_000}).status_code == 400
    assert post(client, CHALLENGE, {f"f{n}": "x" for n in range(2_000)}).status_code == 400
    assert not logged_in(client)


def test_the_digit_table_covers_the_scripts_people_type_in():
    fullwidth = "".join(chr(0xFF10 + n) for n in range(10))
    assert "٠١٢٣٤٥٦٧٨٩" in DIGIT_SETS and fullwidth in DIGIT_SETS
    assert len(DIGIT_SETS) > 60
