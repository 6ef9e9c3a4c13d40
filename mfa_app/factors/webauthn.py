"""WebAuthn: security keys and passkeys as a second factor, or a passkey as the whole login.

py_webauthn checks the client data, the RP ID hash, the flags and the signature (SECURITY.md
WA-02..06, 09, 10). It knows nothing about users or sessions, so this module adds the rest:
challenges kept server side, tied to one user and one purpose, usable once (WA-01); which
credentials belong to whom (WA-12, WA-13); and what a sign counter that went back means (WA-11).
Both ways to sign in share the verification and the replay-proof spend (``_verify_and_spend``);
a passkey login also requires user verification (WA-07) and the credential's user handle.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict, structs
from webauthn.helpers import parse_authentication_credential_json as parse_assertion
from webauthn.helpers import parse_registration_credential_json as parse_attestation
from webauthn.helpers.exceptions import WebAuthnException

from .. import clock, errors, login_state
from ..conf import app_settings
from ..models import FactorType, WebAuthnCredential
from ..policy import policy_for
from .base import EnrollmentProof, Factor, register

logger = logging.getLogger(__name__)

REGISTER = "register"
AUTHENTICATE = "authenticate"
# A passkey login: no user is known until the credential says whose it is.
PASSKEY = "passkey"
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn §7.1 step 25
USER_HANDLE_BYTES = 32
# A browser's response is a few kilobytes even with an attestation certificate chain.
MAX_RESPONSE_LENGTH = 64 * 1024
# What untrusted input can make the parsers raise, besides py_webauthn's own exceptions.
_BAD_INPUT = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, RecursionError)

MESSAGES = {
    "expired": _("This security key request expired or was already used. Please try again."),
    "malformed": _("Your browser sent a security key response that could not be read."),
    "rejected": _("Your security key's response could not be verified. Please try again."),
    "unknown_credential": _("This security key is not registered to your account."),
    "already_registered": _("This security key is already registered."),
    "replayed": _("This security key response was already used. Please try again."),
    "unknown_passkey": _("This passkey is not registered here. Sign in with your password."),
    "passkey_not_allowed": _(
        "Signing in with a passkey is not allowed for your account. Sign in with your password."
    ),
    "inactive": _("This account cannot sign in."),
    "possible_clone": _(
        "This security key was refused because its use counter went backwards, which can mean "
        "it was copied. Use another way to sign in and tell your administrator."
    ),
}


def _invalid(message: str, reason: str = "", **details: Any) -> errors.InvalidCode:
    # ``reason`` and ``details`` go to the audit log; the message is all the user sees.
    return errors.InvalidCode(str(MESSAGES[message]), reason=reason or message, **details)


# --- relying party --------------------------------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: list[str]
    user_verification: structs.UserVerificationRequirement

    @property
    def requires_user_verification(self) -> bool:
        return self.user_verification == structs.UserVerificationRequirement.REQUIRED


def relying_party(request: HttpRequest) -> RelyingParty:
    """The RP ID and origins from the settings, or else from the host the request came to."""
    host = request.get_host()
    origins = app_settings.WEBAUTHN_ORIGINS or [f"{request.scheme}://{host}"]
    return RelyingParty(
        id=app_settings.WEBAUTHN_RP_ID or split_domain_port(host)[0],
        origins=[origins] if isinstance(origins, str) else list(origins),
        user_verification=structs.UserVerificationRequirement(
            app_settings.WEBAUTHN_USER_VERIFICATION
        ),
    )


# --- challenges kept server side ------------------------------------------------------------


def _owner(user: Any) -> str:
    # A passkey login's challenge belongs to no user ("").
    return str(user.pk) if user is not None else ""


def _store_challenge(
    request: HttpRequest, purpose: str, user: Any, challenge: bytes, **extra: str
) -> None:
    # Only the server's copy counts: the challenge echoed in clientDataJSON is compared with it.
    state = {
        "user": _owner(user),
        "challenge": bytes_to_base64url(challenge),
        "expires": login_state.now() + app_settings.CHALLENGE_TIMEOUT,
        **extra,
    }
    login_state.keep_webauthn_challenge(request, purpose, state)


def _pop_challenge(request: HttpRequest | None, purpose: str, user: Any) -> dict[str, Any]:
    """Take the stored challenge out before anything is checked: each one gets a single answer."""
    state = login_state.take_webauthn_challenge(request, purpose)
    if (
        not isinstance(state, dict)
        or state.get("user") != _owner(user)
        or not isinstance(state.get("expires"), int | float)
        or state["expires"] <= login_state.now()
    ):
        raise _invalid("expired")
    return state


def _parse(parser: Callable[[str], Any], response: Any) -> Any:
    if not isinstance(response, str) or len(response) > MAX_RESPONSE_LENGTH:
        raise _invalid("malformed")
    try:
        return parser(response)
    except _BAD_INPUT as exc:
        raise _invalid("malformed") from exc


def _descriptor(credential: WebAuthnCredential) -> structs.PublicKeyCredentialDescriptor:
    known = {t.value for t in structs.AuthenticatorTransport}
    transports = [structs.AuthenticatorTransport(t) for t in credential.transports if t in known]
    return structs.PublicKeyCredentialDescriptor(
        id=bytes(credential.credential_id), transports=transports or None
    )


def _multi_device(verified: Any) -> bool:
    return verified.credential_device_type == structs.CredentialDeviceType.MULTI_DEVICE


# --- registration ---------------------------------------------------------------------------


def registration_options(user: Any, request: HttpRequest) -> dict[str, Any]:
    """Options for ``navigator.credentials.create()``; the challenge stays in the session."""
    rp = relying_party(request)
    existing = list(WebAuthnCredential.objects.filter(user=user))
    # One handle per user, random (never the pk): reuse the one the user's keys already carry.
    handle = bytes(existing[0].user_handle) if existing else secrets.token_bytes(USER_HANDLE_BYTES)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=app_settings.WEBAUTHN_RP_NAME or policy_for(user).issuer_for(request),
        user_name=user.get_username(),
        user_id=handle,
        user_display_name=getattr(user, "get_full_name", lambda: "")() or user.get_username(),
        # WA-14, decided: attestation "none". A second factor needs proof of possession, not of
        # make or model; trusting any authenticator spares us vendor roots and users a privacy
        # prompt. Browsers strip attestation when asked for "none"; a statement that still
        # arrives is checked for consistency by py_webauthn, against no trust anchors.
        attestation=structs.AttestationConveyancePreference.NONE,
        authenticator_selection=structs.AuthenticatorSelectionCriteria(
            # A second factor is found through allowCredentials: spare hardware keys' few
            # discoverable-credential slots. The page's "Use as a passkey" box asks the browser
            # for residentKey and userVerification "required" instead (webauthn.js).
            resident_key=structs.ResidentKeyRequirement.DISCOURAGED,
            user_verification=rp.user_verification,
        ),
        exclude_credentials=[_descriptor(c) for c in existing],
    )
    _store_challenge(
        request, REGISTER, user, options.challenge, user_handle=bytes_to_base64url(handle)
    )
    return options_to_json_dict(options)


def check_registration(user: Any, request: HttpRequest | None, response: str) -> dict[str, Any]:
    """Verify a ``create()`` response; return the new credential's fields, or raise InvalidCode."""
    state = _pop_challenge(request, REGISTER, user)
    credential = _parse(parse_attestation, response)
    rp = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            require_user_presence=True,
            require_user_verification=rp.requires_user_verification,
        )
    except _BAD_INPUT as exc:
        logger.info("WebAuthn registration rejected for user %s: %s", user.pk, exc)
        raise _invalid("rejected") from exc
    if len(verified.credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise _invalid("rejected", reason="credential_id_too_long")
    if WebAuthnCredential.objects.filter(credential_id=verified.credential_id).exists():
        raise _invalid("already_registered")
    return {
        "credential_id": verified.credential_id,
        "public_key": verified.credential_public_key,
        "sign_count": verified.sign_count,
        "transports": [t.value for t in credential.response.transports or []],
        "aaguid": verified.aaguid,
        "backup_eligible": _multi_device(verified),
        "backed_up": verified.credential_backed_up,
        "user_handle": base64url_to_bytes(state["user_handle"]),
    }


# --- authentication -------------------------------------------------------------------------


@register
class WebAuthn(Factor):
    type = FactorType.WEBAUTHN
    label = _("Security key or passkey")
    add_label = _("Add security key or passkey")
    model = WebAuthnCredential

    def verify(self, user: Any, code: str) -> WebAuthnCredential | None:
        # An assertion is only good for a challenge stored by begin_challenge in a session.
        return None

    def begin_challenge(self, user: Any, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        rp = relying_party(request)
        options = generate_authentication_options(
            rp_id=rp.id,
            allow_credentials=[_descriptor(c) for c in self.devices(user)],
            user_verification=rp.user_verification,
        )
        _store_challenge(request, AUTHENTICATE, user, options.challenge)
        return {"webauthn_options": options_to_json_dict(options)}

    def verify_answer(
        self, user: Any, code: str, request: Any, challenge: Any = None
    ) -> WebAuthnCredential:
        challenge = base64url_to_bytes(_pop_challenge(request, AUTHENTICATE, user)["challenge"])
        credential = _parse(parse_assertion, code)
        device = self._own_key(user, credential)
        return _verify_and_spend(device, credential, challenge, relying_party(request))

    def _own_key(
        self, user: Any, credential: structs.AuthenticationCredential
    ) -> WebAuthnCredential:
        # WA-12: only the pending user's own keys (the allowCredentials) can answer.
        device = self.devices(user).filter(credential_id=credential.raw_id).first()
        if device is None:
            raise _invalid("unknown_credential")
        handle = credential.response.user_handle
        if handle is not None and not secrets.compare_digest(handle, bytes(device.user_handle)):
            raise _invalid("unknown_credential", reason="user_handle_mismatch")
        return device

    def could_answer(self, device: WebAuthnCredential, token: str) -> bool:
        return False

    def verify_device(self, device: WebAuthnCredential, token: str) -> bool:
        """Always ``False``: a security key answers a challenge with a signed assertion.

        The assertion signs a random challenge this server stored in the browser's session
        (``begin_challenge``) and names the origin it was made for; django-otp's
        ``verify_token`` gets a typed string and no request, so no token it could pass is a
        proof of holding the key. Keys sign in through mfa_app's challenge page instead.
        """
        return False

    # --- presentation, policy, enrollment -------------------------------------------------

    icon = "key"
    description = _("Use a security key, or a passkey on your phone or computer.")
    needs = _("Needs a security key, or a phone or computer you unlock with a face, finger or PIN.")
    # Phishing-resistant: recommended wherever the browser can use it.
    recommend_rank = 10
    needs_webauthn = True
    enroll_template = "mfa_app/enroll_webauthn.html"
    enroll_url_name = "mfa_app:enroll_webauthn"
    order = 20
    typed_answer = False
    numeric_answer = False
    policy_name = FactorType.WEBAUTHN

    def switch_label(self, method: Any, current: str = "") -> str:
        return gettext("Use your security key or passkey")

    def device_label(self, device: WebAuthnCredential) -> str:
        return gettext("Passkey") if self.is_passkey(device) else gettext("Security key")

    @staticmethod
    def is_passkey(device: WebAuthnCredential) -> bool:
        """A passkey syncs (backup eligible) or lives in the phone or computer itself
        (transport "internal", or reached over "hybrid"); anything else is a security key."""
        transports = set(device.transports or [])
        return device.backup_eligible or bool(transports & {"internal", "hybrid"})

    def prepare_enrollment(self, user: Any, request: HttpRequest) -> dict[str, Any]:
        """Options for ``navigator.credentials.create()``; the challenge stays in the session."""
        return registration_options(user, request)

    def check_enrollment(
        self, user: Any, answer: str, request: HttpRequest | None
    ) -> EnrollmentProof:
        return EnrollmentProof(fields=check_registration(user, request, answer))

    def already_enrolled_error(self) -> errors.MFAError:
        return errors.InvalidCode(str(MESSAGES["already_registered"]))


# --- passkey login (a discoverable credential, found by the browser, no user known yet) ------


def passkey_login_options(request: HttpRequest) -> dict[str, Any]:
    """Options for ``navigator.credentials.get()`` with no allowCredentials and UV required."""
    rp = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=[],
        # WA-07: the passkey is the whole login, so it must be multi-factor by itself.
        user_verification=structs.UserVerificationRequirement.REQUIRED,
    )
    _store_challenge(request, PASSKEY, None, options.challenge)
    return options_to_json_dict(options)


@dataclass(frozen=True)
class PasskeyAssertion:
    """A passkey login's assertion, read and matched to its credential but not yet verified."""

    device: WebAuthnCredential
    credential: structs.AuthenticationCredential
    challenge: bytes


def find_passkey(request: HttpRequest, response: str) -> PasskeyAssertion:
    """Spend the stored passkey challenge and find the credential the assertion names.

    Raises ``InvalidCode`` while no user is known yet (expired challenge, unreadable response,
    unknown credential); ``verify_passkey`` then does the checks that need the credential.
    """
    challenge = base64url_to_bytes(_pop_challenge(request, PASSKEY, None)["challenge"])
    credential = _parse(parse_assertion, response)
    device = (
        WebAuthnCredential.objects.filter(credential_id=credential.raw_id, confirmed=True)
        .select_related("user")
        .first()
    )
    if device is None:
        raise _invalid("unknown_passkey")
    return PasskeyAssertion(device, credential, challenge)


def verify_passkey(assertion: PasskeyAssertion, request: HttpRequest) -> WebAuthnCredential:
    """Verify a passkey login's assertion with user verification required, and spend it."""
    device, credential = assertion.device, assertion.credential
    # WA-12: with no allowCredentials the user handle is what names the account; it must be
    # there, and be the one this credential was created with.
    handle = credential.response.user_handle
    if handle is None or not secrets.compare_digest(handle, bytes(device.user_handle)):
        raise _invalid("rejected", reason="user_handle_mismatch")
    rp = replace(
        relying_party(request), user_verification=structs.UserVerificationRequirement.REQUIRED
    )
    return _verify_and_spend(device, credential, assertion.challenge, rp)


# --- shared by both ways to sign in ---------------------------------------------------------


def _verify_and_spend(
    device: WebAuthnCredential,
    credential: structs.AuthenticationCredential,
    challenge: bytes,
    rp: RelyingParty,
) -> WebAuthnCredential:
    marker = hashlib.sha256(challenge).hexdigest()
    if device.last_challenge == marker:
        raise _invalid("replayed")
    verified = _check_assertion(device, credential, challenge, rp)
    # WA-08: backup eligibility is fixed when the credential is created. A credential imported
    # from a peer that never stored it (``None``) learns it from its first assertion instead.
    if device.backup_eligible is not None and _multi_device(verified) != device.backup_eligible:
        raise _invalid("rejected", reason="backup_eligibility_changed")
    return _spend(device, verified, marker)


def _spend(
    device: WebAuthnCredential, verified: VerifiedAuthentication, marker: str
) -> WebAuthnCredential:
    """Record the new counter with one conditional UPDATE: one assertion, one winner."""
    now = clock.now()
    unknown = device.backup_eligible is None
    learned = {"backup_eligible": _multi_device(verified)} if unknown else {}
    # Of two requests carrying the same assertion, only the first still finds the counter and
    # the last challenge as both read them; the other updates nothing.
    spent = (
        WebAuthnCredential.objects.filter(pk=device.pk, sign_count=device.sign_count)
        .exclude(last_challenge=marker)
        .update(
            sign_count=verified.new_sign_count,
            backed_up=verified.credential_backed_up,
            last_challenge=marker,
            last_used_at=now,
            **learned,
        )
    )
    if spent != 1:
        raise _invalid("replayed")
    if learned:
        device.backup_eligible = learned["backup_eligible"]
    device.sign_count, device.backed_up = verified.new_sign_count, verified.credential_backed_up
    device.last_challenge, device.last_used_at = marker, now
    return device


def _check_assertion(
    device: WebAuthnCredential,
    credential: structs.AuthenticationCredential,
    challenge: bytes,
    rp: RelyingParty,
) -> VerifiedAuthentication:
    def check(current_sign_count: int) -> VerifiedAuthentication:
        return verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=bytes(device.public_key),
            credential_current_sign_count=current_sign_count,
            require_user_verification=rp.requires_user_verification,
        )

    try:
        return check(device.sign_count)
    except _BAD_INPUT as exc:
        rejection = exc
    # py_webauthn checks the counter before the signature and raises the same exception for
    # both. Checking again without the counter tells them apart: only a validly signed
    # assertion whose counter did not rise is a possible clone (WA-11); the rest is just junk.
    try:
        verified = check(0)
    except _BAD_INPUT:
        logger.info("WebAuthn assertion rejected for %s: %s", device.persistent_id, rejection)
        raise _invalid("rejected") from rejection
    logger.warning(
        "WebAuthn sign count went from %s to %s on %s: possible cloned authenticator",
        device.sign_count,
        verified.new_sign_count,
        device.persistent_id,
    )
    raise _invalid(
        "possible_clone",
        possible_clone=True,
        credential=device.pk,
        stored_sign_count=device.sign_count,
        received_sign_count=verified.new_sign_count,
    ) from rejection
