"""Signing and verifying webhook requests: the Python standard library only.

A receiver may import this module (``from mfa_app.webhooks import verify_signature``) or copy
it whole into a project that does not install mfa_app.

The signature of a request is ``v1=`` followed by the hex HMAC-SHA256, keyed with the
endpoint's secret (the whole string, ``whsec_`` included, as UTF-8), of
``"{timestamp}.{body}"``: the ``X-MFA-Webhook-Timestamp`` header, a dot, and the raw request
body. While a rolled secret's predecessor is still valid, the header carries one signature for
each, separated by a space.
"""

import hashlib
import hmac
import secrets

from .. import clock

ID_HEADER = "X-MFA-Webhook-Id"
TIMESTAMP_HEADER = "X-MFA-Webhook-Timestamp"
SIGNATURE_HEADER = "X-MFA-Webhook-Signature"
EVENT_HEADER = "X-MFA-Webhook-Event"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a format marker, not a secret)
VERSION = "v1"


def generate_secret() -> str:
    """A new signing secret: 256 random bits, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The signature of ``body`` sent at ``timestamp`` (Unix seconds): ``v1=<hex>``."""
    if isinstance(body, str):
        body = body.encode()
    message = str(int(timestamp)).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    signature: str,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (the header's value) signs ``body`` at ``timestamp`` with ``secret``.

    Pass the raw body as received, before any JSON parsing. A timestamp more than ``tolerance``
    seconds away from ``now`` (default: the current time) fails, so a captured request cannot
    be replayed later; dedupe on ``X-MFA-Webhook-Id`` against replays within the window and
    against retries of a delivery you already processed.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = clock.timestamp() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    expected = sign(secret, sent_at, body)
    candidates = str(signature).split()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
