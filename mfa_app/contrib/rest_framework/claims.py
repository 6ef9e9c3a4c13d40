"""How and when a token's holder passed MFA: put in the tokens issued, read back from them.

A JWT carries it as claims: ``amr`` (RFC 8176 method references: ``pwd``, then ``mfa`` and the
factor's), ``mfa_factor``, ``mfa_at`` and ``auth_time`` (seconds since the epoch), and
``mfa_epoch``, the user's session epoch: signing the user's sessions out (SES-06) ends tokens
issued before. Refreshed access tokens copy them, so ``mfa_at`` stays the time MFA was passed.
A key of DRF's ``TokenAuthentication`` carries nothing: a ``TokenVerification`` row says it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from ... import login_state, services
from ...models import TokenVerification

PASSWORD = "pwd"  # noqa: S105 (RFC 8176: a password was given)
MFA = "mfa"
# RFC 8176 names where one fits; the others are this app's.
FACTOR_METHODS = {"TOTP": "otp", "WEBAUTHN": "hwk", "SMS": "sms", "EMAIL": "email"}
CLAIMS = ("amr", "mfa_factor", "mfa_at", "auth_time")


@dataclass(frozen=True)
class Proof:
    """What the holder of a token proved: ``methods`` (``amr``), and when."""

    methods: tuple[str, ...]
    factor_type: str | None = None
    mfa_at: float | None = None
    authenticated_at: float | None = None
    epoch: int | None = None

    @property
    def mfa_verified(self) -> bool:
        return self.mfa_at is not None and MFA in self.methods

    def claims(self) -> dict[str, Any]:
        values = {
            "amr": list(self.methods),
            "auth_time": _seconds(self.authenticated_at),
            "mfa_epoch": self.epoch,
        }
        if self.mfa_verified:
            values.update(mfa_factor=self.factor_type, mfa_at=_seconds(self.mfa_at))
        return values


def passed(user: Any, factor_type: str | None, authenticated_at: float) -> Proof:
    """The proof of ``user``'s sign-in that just passed MFA with ``factor_type`` (``None``:
    it needed none)."""
    epoch = services.session_epoch(user.pk)
    if factor_type is None:
        return Proof((PASSWORD,), authenticated_at=authenticated_at, epoch=epoch)
    method = FACTOR_METHODS.get(factor_type, "otp")
    return Proof((PASSWORD, MFA, method), factor_type, login_state.now(), authenticated_at, epoch)


def from_claims(payload: Any) -> Proof | None:
    """The proof in a JWT's claims; ``None`` if it has none (a token mfa_app did not issue)."""
    amr = payload.get("amr") if isinstance(payload, dict) else None
    if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
        return None
    factor_type, mfa_at = payload.get("mfa_factor"), payload.get("mfa_at")
    if not isinstance(mfa_at, int | float) or not isinstance(factor_type, str):
        factor_type, mfa_at = None, None
    auth_time, epoch = payload.get("auth_time"), payload.get("mfa_epoch")
    return Proof(
        tuple(amr),
        factor_type,
        mfa_at,
        auth_time if isinstance(auth_time, int | float) else None,
        epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0,
    )


def from_session(request: HttpRequest) -> Proof | None:
    """The proof of a session signed in through the pages or the JSON API."""
    if not getattr(request, "session", None):
        return None
    at, factor_type = login_state.verified(request)
    if at is None:
        return Proof((PASSWORD,), authenticated_at=login_state.authenticated_at(request))
    method = FACTOR_METHODS.get(factor_type or "", "otp")
    return Proof((PASSWORD, MFA, method), factor_type, at, login_state.authenticated_at(request))


def of_auth(user: Any, auth: Any) -> Proof | None:
    """The proof behind ``request.auth`` as a DRF authenticator set it, if it has one.

    A token issued before the user's sessions were signed out proves nothing any more.
    """
    proof = issued_proof(user, auth)
    if proof is not None and signed_out(user, proof):
        return None
    return proof


def signed_out(user: Any, proof: Proof) -> bool:
    """Whether the user signed every session out since the token of ``proof`` was issued."""
    return proof.epoch is not None and proof.epoch < services.session_epoch(user.pk)


def issued_proof(user: Any, auth: Any) -> Proof | None:
    """What the token said when it was issued, signed out since or not."""
    payload = getattr(auth, "payload", None)
    if payload is not None:
        return from_claims(payload)
    key = getattr(auth, "key", None)
    if isinstance(key, str) and key:
        row = TokenVerification.objects.filter(digest=key_digest(key), user=user).first()
        if row is None:
            return None
        return Proof(
            tuple(row.methods.split()),
            row.factor_type or None,
            row.mfa_at.timestamp() if row.mfa_at else None,
            row.authenticated_at.timestamp(),
            row.session_epoch,
        )
    return None


def issue_jwt(user: Any, proof: Proof) -> dict[str, str]:
    """Simple JWT's tokens for ``user`` (the site's obtain serializer's, custom claims kept),
    with the proof's claims."""
    from rest_framework_simplejwt.settings import api_settings

    serializer = import_string(api_settings.TOKEN_OBTAIN_SERIALIZER)
    token = serializer.get_token(user)
    for name, value in proof.claims().items():
        token[name] = value
    if api_settings.UPDATE_LAST_LOGIN:
        update_last_login(None, user)
    if hasattr(token, "access_token"):
        return {"refresh": str(token), "access": str(token.access_token)}
    return {"token": str(token)}


def issue_authtoken(user: Any, proof: Proof) -> dict[str, str]:
    """A new key of DRF's ``TokenAuthentication`` for ``user``, with the proof kept beside it.

    DRF keeps one key per user: it is replaced, so a key handed out before (by DRF's own view,
    say, with a password alone) stops working.
    """
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        TokenVerification.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        TokenVerification.objects.create(
            digest=key_digest(token.key),
            user=user,
            methods=" ".join(proof.methods),
            factor_type=proof.factor_type or "",
            authenticated_at=_datetime(proof.authenticated_at or login_state.now()),
            mfa_at=_datetime(proof.mfa_at) if proof.mfa_verified else None,
            session_epoch=proof.epoch or 0,
        )
    return {"token": token.key}


def key_digest(key: str) -> str:
    return salted_hmac("mfa_app.api-token", key, algorithm="sha256").hexdigest()


def _seconds(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _datetime(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
