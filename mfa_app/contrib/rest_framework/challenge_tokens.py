"""The signed challenge token: a token client's pending login, carried by the client.

It names the pending login (user, challenge, when it started, why) and which kind of token the
client asked for. The signature stops forgery; the challenge row it names is what makes it
short-lived, single use and cancellable: a passed, ended or deleted challenge refuses it
whatever the signature says.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.core import signing

from ... import errors, login_state
from ...conf import app_settings

SALT = "mfa_app.contrib.rest_framework.challenge"
DEVICE_SALT = "mfa_app.contrib.rest_framework.device"
JWT = "jwt"
AUTHTOKEN = "authtoken"
KINDS = (JWT, AUTHTOKEN)
# Longer than any token this module signs: a longer one is refused before it is read.
MAX_LENGTH = 2000


@dataclass(frozen=True)
class Carried:
    """What a challenge token carries: the pending login, the kind of token asked for, and
    the (encrypted) key of the sign-in's own records (``state``)."""

    pending: login_state.PendingLogin
    kind: str
    state: str = ""


def issue(pending: login_state.PendingLogin, kind: str, state: str = "") -> str:
    return signing.dumps({"pending": asdict(pending), "kind": kind, "state": state}, salt=SALT)


def read(token: Any) -> Carried:
    """What ``token`` carries; ``ChallengeExpired`` if it is not a live one of ours."""
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH:
        raise errors.ChallengeExpired()
    try:
        data = signing.loads(token, salt=SALT, max_age=app_settings.CHALLENGE_TIMEOUT)
        pending = login_state.PendingLogin(**data["pending"])
        kind, state = data["kind"], data.get("state", "")
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise errors.ChallengeExpired() from exc
    if kind not in KINDS or pending.reason not in (login_state.CHALLENGE, login_state.ENROLL):
        raise errors.ChallengeExpired()
    return Carried(pending, kind, state if isinstance(state, str) else "")


def sign_device_token(token: str) -> str:
    """A remembered device's token as handed to a client that keeps no cookie."""
    return signing.Signer(salt=DEVICE_SALT).sign(token)


def read_device_token(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_LENGTH:
        return None
    try:
        return signing.Signer(salt=DEVICE_SALT).unsign(value)
    except signing.BadSignature:
        return None
