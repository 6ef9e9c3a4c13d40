"""django-allauth's ``allauth.mfa``: one ``Authenticator`` row per TOTP, recovery codes, key.

Secrets are read through allauth's own adapter (``decrypt``), recovery codes through its own
``RecoveryCodes`` (the unused ones, derived from the seed), and the user handle its passkeys
carry through the adapter's user entity (the primary key as a string).
"""

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from webauthn.helpers import base64url_to_bytes, parse_attestation_object

from .base import RECOVERY, Importer, Item, last_step, record_key, uuid_text


class AllauthImporter(Importer):
    source = "allauth"
    label = "django-allauth (allauth.mfa)"
    requires = ("allauth", "allauth.mfa")

    def user_ids(self) -> Iterable[Any]:
        from allauth.mfa.models import Authenticator

        return Authenticator.objects.values_list("user_id", flat=True)

    def items(self, user: Any) -> list[Item]:
        from allauth.mfa.models import Authenticator

        readers = {
            Authenticator.Type.TOTP: self.totp,
            Authenticator.Type.RECOVERY_CODES: self.recovery_codes,
            Authenticator.Type.WEBAUTHN: self.webauthn,
        }
        items = []
        for authenticator in Authenticator.objects.filter(user=user).order_by("pk"):
            reader = readers.get(authenticator.type)
            if reader is None:
                items.append(
                    Item(
                        record_key(authenticator),
                        "",
                        authenticator.type,
                        refusal=f"authenticator type {authenticator.type!r}: not supported",
                    )
                )
                continue
            try:
                items.append(reader(authenticator))
            except (KeyError, ValueError, TypeError) as exc:
                items.append(
                    Item(
                        record_key(authenticator),
                        "",
                        authenticator.type,
                        refusal=f"unreadable data ({type(exc).__name__})",
                    )
                )
        return items

    def totp(self, authenticator: Any) -> Item:
        from allauth.mfa import app_settings
        from allauth.mfa.utils import decrypt

        secret = decrypt(authenticator.data["secret"])
        return self.totp_item(
            record_key(authenticator),
            str(authenticator.get_type_display()),
            secret.upper(),
            digits=app_settings.TOTP_DIGITS,
            period=app_settings.TOTP_PERIOD,
            last_t=last_step(authenticator.last_used_at, app_settings.TOTP_PERIOD),
            delete=authenticator.delete,
        )

    def recovery_codes(self, authenticator: Any) -> Item:
        codes = authenticator.wrap().get_unused_codes()
        fields = {"codes": codes, "legacy_format": "allauth"}
        name = str(authenticator.get_type_display())
        return Item(record_key(authenticator), RECOVERY, name, fields, delete=authenticator.delete)

    def webauthn(self, authenticator: Any) -> Item:
        from allauth.mfa.adapter import get_adapter

        credential = authenticator.data["credential"]
        if isinstance(credential, str):
            credential = json.loads(credential)
        attestation = base64url_to_bytes(credential["response"]["attestationObject"])
        auth_data = parse_attestation_object(attestation).auth_data
        attested = auth_data.attested_credential_data
        if attested is None:
            raise ValueError("no attested credential data")
        rp_id = self.rp_id or ""
        if auth_data.rp_id_hash != hashlib.sha256(rp_id.encode()).digest():
            # Only the hash is stored: name the site's RP ID as the one it is not.
            rp_id = f"(not {self.rp_id})"
        handle = get_adapter().get_public_key_credential_user_entity(authenticator.user)["id"]
        return self.webauthn_item(
            record_key(authenticator),
            authenticator.data.get("name") or "WebAuthn",
            rp_id=rp_id,
            delete=authenticator.delete,
            credential_id=attested.credential_id,
            public_key=attested.credential_public_key,
            sign_count=auth_data.sign_count,
            transports=list(credential["response"].get("transports") or []),
            aaguid=uuid_text(attested.aaguid),
            backup_eligible=auth_data.flags.be,
            backed_up=auth_data.flags.bs,
            user_handle=handle if isinstance(handle, bytes) else str(handle).encode(),
        )
