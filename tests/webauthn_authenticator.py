"""A software WebAuthn authenticator, built with ``cryptography`` and ``cbor2``.

It answers the options our pages embed with the JSON a browser's
``PublicKeyCredential.toJSON()`` produces: an EC P-256 (ES256) key, "none" attestation,
authenticatorData = rpIdHash ‖ flags ‖ signCount ‖ attestedCredentialData. Keyword arguments
let a test tamper with each part a relying party must check.
"""

import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from mfa_app.models import WebAuthnCredential

ORIGIN = "http://testserver"
# authenticatorData flags (WebAuthn §6.1)
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("ee882879721c491397753dfcce97072a")  # YubiKey 5 series
_KEEP = object()


def b64(data: bytes) -> str:
    return bytes_to_base64url(data)


class SoftwareAuthenticator:
    def __init__(
        self,
        *,
        sign_count: int = 0,
        counter_step: int = 1,
        backup_eligible: bool = False,
        backed_up: bool = False,
        transports: tuple[str, ...] = ("usb", "nfc"),
        credential_id: bytes | None = None,
        aaguid: bytes = AAGUID,
    ) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = credential_id if credential_id is not None else os.urandom(32)
        self.sign_count = sign_count
        # 0 for a synced passkey, whose counter stays at 0 (legal, WA-11).
        self.counter_step = counter_step
        self.backup_eligible, self.backed_up = backup_eligible, backed_up
        self.transports = list(transports)
        self.aaguid = aaguid
        self.user_handle: bytes | None = None

    # --- pieces -------------------------------------------------------------------------------

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def flags(self, *, up: bool = True, uv: bool = True, be: Any = _KEEP, bs: Any = _KEEP) -> int:
        be = self.backup_eligible if be is _KEEP else be
        bs = self.backed_up if bs is _KEEP else bs
        return (UP if up else 0) | (UV if uv else 0) | (BE if be else 0) | (BS if bs else 0)

    def authenticator_data(
        self, rp_id: str, flags: int, sign_count: int, attested: bool = False
    ) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
        data += struct.pack(">I", sign_count)
        if attested:
            data += self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id
            data += self.cose_public_key()
        return data

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()

    # --- navigator.credentials.create() -------------------------------------------------------

    def create(
        self,
        options: dict,
        *,
        origin: str = ORIGIN,
        rp_id: str | None = None,
        challenge: str | None = None,
        kind: str = "webauthn.create",
        up: bool = True,
        uv: bool = True,
    ) -> str:
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        flags = self.flags(up=up, uv=uv) | AT
        auth_data = self.authenticator_data(
            rp_id or options["rp"]["id"], flags, self.sign_count, attested=True
        )
        client_data = self.client_data(kind, challenge or options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(client_data),
                    "attestationObject": b64(attestation),
                    "authenticatorData": b64(auth_data),
                    "transports": self.transports,
                    "publicKey": b64(spki),
                    "publicKeyAlgorithm": -7,
                },
            }
        )

    # --- navigator.credentials.get() ----------------------------------------------------------

    def get(
        self,
        options: dict,
        *,
        origin: str = ORIGIN,
        rp_id: str | None = None,
        challenge: str | None = None,
        kind: str = "webauthn.get",
        up: bool = True,
        uv: bool = True,
        be: Any = _KEEP,
        sign_count: int | None = None,
        user_handle: Any = _KEEP,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        if sign_count is None:
            self.sign_count += self.counter_step
            sign_count = self.sign_count
        auth_data = self.authenticator_data(
            rp_id or options["rpId"], self.flags(up=up, uv=uv, be=be), sign_count
        )
        client_data = self.client_data(kind, challenge or options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = (signing_key or self.key).sign(signed, ec.ECDSA(hashes.SHA256()))
        handle = self.user_handle if user_handle is _KEEP else user_handle
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(auth_data),
                    "signature": b64(signature),
                    "userHandle": b64(handle) if handle is not None else None,
                },
            }
        )


def stored_credential(user: Any, authenticator: SoftwareAuthenticator, **fields: Any):
    """Save ``authenticator`` as ``user``'s key, as a past registration would have."""
    if authenticator.user_handle is None:
        authenticator.user_handle = os.urandom(32)
    values = {
        "name": "YubiKey",
        "confirmed": True,
        "is_primary": True,
        "credential_id": authenticator.credential_id,
        "public_key": authenticator.cose_public_key(),
        "sign_count": authenticator.sign_count,
        "transports": authenticator.transports,
        "backup_eligible": authenticator.backup_eligible,
        "backed_up": authenticator.backed_up,
        "user_handle": authenticator.user_handle,
        **fields,
    }
    return WebAuthnCredential.objects.create(user=user, **values)
