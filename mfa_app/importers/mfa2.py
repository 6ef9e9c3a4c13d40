"""django-mfa2: ``User_Keys`` rows, found by username, one per TOTP, FIDO2 key, recovery set...

Its FIDO2 rows keep fido2's attested credential data (AAGUID, credential id, COSE key) and
nothing else: no sign count, no backup flag (learned at the first sign-in here), and the RP ID
is its ``FIDO_SERVER_ID`` setting. The user handle it gave authenticators is the URL-safe
base64 of the username. Its recovery codes are one-way PBKDF2 hashes: they cannot be carried
over, so the user is told to make new ones.
"""

import base64
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from ..models import FactorType
from .base import RECOVERY, Importer, Item, last_step, record_key, users_named, uuid_text

CHUNK = 500  # usernames looked up at a time
# Remembered browsers, not factors: the user is simply asked again here.
SKIPPED = ("Trusted Device",)


class MFA2Importer(Importer):
    source = "mfa2"
    label = "django-mfa2"
    requires = ("mfa",)

    def user_ids(self) -> Iterable[Any]:
        from mfa.models import User_Keys

        usernames = list(User_Keys.objects.values_list("username", flat=True).distinct())
        for start in range(0, len(usernames), CHUNK):
            yield from users_named(usernames[start : start + CHUNK]).values_list("pk", flat=True)

    def items(self, user: Any) -> list[Item]:
        from mfa.models import User_Keys

        readers = {
            "TOTP": self.totp,
            "FIDO2": self.fido2,
            "RECOVERY": self.recovery,
            "Email": self.email,
        }
        items = []
        keys = User_Keys.objects.filter(username=user.get_username(), enabled=True)
        for key in keys.exclude(key_type__in=SKIPPED).order_by("pk"):
            reader = readers.get(key.key_type)
            if reader is None:
                refusal = f"key type {key.key_type!r}: not supported"
                items.append(Item(record_key(key), "", key.key_type, refusal=refusal))
                continue
            try:
                items.append(reader(key, user))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                refusal = f"unreadable data ({type(exc).__name__})"
                items.append(Item(record_key(key), "", key.key_type, refusal=refusal))
        return items

    def totp(self, key: Any, user: Any) -> Item:
        # pyotp's defaults: 6 digits, 30 s, which mfa2 never changes.
        secret = str(key.properties["secret_key"]).upper()
        return self.totp_item(
            record_key(key),
            "Authenticator app",
            secret,
            digits=6,
            period=30,
            # mfa2 keeps no used step, and accepts codes 15 minutes either side of now.
            last_t=last_step(key.last_used, 30),
            delete=key.delete,
        )

    def fido2(self, key: Any, user: Any) -> Item:
        data = base64.urlsafe_b64decode(_padded(key.properties["device"]))
        # fido2's AttestedCredentialData: AAGUID (16), id length (2, big-endian), id, COSE key.
        aaguid, length = data[:16], int.from_bytes(data[16:18], "big")
        credential_id, public_key = data[18 : 18 + length], data[18 + length :]
        if len(credential_id) != length or not public_key:
            raise ValueError("truncated credential data")
        handle = base64.urlsafe_b64encode(user.get_username().encode("utf-8"))
        return self.webauthn_item(
            record_key(key),
            "Security key",
            rp_id=getattr(settings, "FIDO_SERVER_ID", None),
            delete=key.delete,
            credential_id=credential_id,
            public_key=public_key,
            sign_count=0,
            aaguid=uuid_text(aaguid),
            backup_eligible=None,
            user_handle=handle,
        )

    def recovery(self, key: Any, user: Any) -> Item:
        return Item(
            record_key(key),
            RECOVERY,
            "Recovery codes",
            not_carried="one-way hashed recovery codes cannot be carried over; the user is told",
        )

    def email(self, key: Any, user: Any) -> Item:
        address = getattr(user, user.get_email_field_name(), "") or ""
        item = Item(
            record_key(key), FactorType.EMAIL, "Email", {"email": address}, delete=key.delete
        )
        if not address:
            item.refusal = "email codes, but the account has no email address"
        return item


def _padded(value: str) -> str:
    return value + "=" * (-len(value) % 4)
