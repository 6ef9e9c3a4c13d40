"""Webhooks: every MFA event, sent as signed JSON to the endpoints set up in the admin.

This package's top level needs nothing but the standard library, so receivers can import
:func:`verify_signature` from it. The sending side lives in ``dispatch`` (events to deliveries,
queueing), ``delivery`` (one attempt) and ``transport`` (the HTTP request).
"""

from .signing import (
    EVENT_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    generate_secret,
    sign,
    verify_signature,
)

__all__ = [
    "EVENT_HEADER",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "generate_secret",
    "sign",
    "verify_signature",
]
