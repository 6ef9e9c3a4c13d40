"""django-two-factor-auth: django-otp's devices, plus its ``PhoneDevice`` and ``WebauthnDevice``.

Its security keys kept no backup flag and no transports; the RP ID is its setting (or, unset,
the host of each request, which this site is assumed to share). The user handle it gave the
authenticator is the hex SHA-1 of the user's primary key: kept, so passkeys still name the user.
"""

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from webauthn.helpers import base64url_to_bytes

from .base import Item, record_key
from .django_otp import DjangoOTPImporter


class TwoFactorImporter(DjangoOTPImporter):
    source = "two_factor"
    label = "django-two-factor-auth"
    requires = ("django_otp", "two_factor")

    def handlers(self) -> dict[str, Callable[[Any], list[Item]]]:
        return {
            **super().handlers(),
            "phonenumber.phonedevice": self.phone,
            "two_factor_webauthn.webauthndevice": self.webauthn,
        }

    def phone(self, device: Any) -> list[Item]:
        item = Item(
            record_key(device),
            "SMS",
            device.name,
            {"number": str(device.number)},
            delete=device.delete,
        )
        if device.method != "sms":
            item.refusal = f"phone method {device.method!r}: only text messages (sms) are supported"
        return [item]

    def webauthn(self, device: Any) -> list[Item]:
        handle = hashlib.sha1(str(device.user.pk).encode(), usedforsecurity=False).hexdigest()
        try:
            fields = {
                "credential_id": base64url_to_bytes(device.key_handle),
                "public_key": base64url_to_bytes(device.public_key),
            }
        except ValueError:
            return [
                Item(record_key(device), "WEBAUTHN", device.name, refusal="unreadable key data")
            ]
        return [
            self.webauthn_item(
                record_key(device),
                device.name,
                rp_id=getattr(settings, "TWO_FACTOR_WEBAUTHN_RP_ID", None),
                delete=device.delete,
                sign_count=max(0, device.sign_count or 0),
                # Never stored by the peer: learned at the first sign-in here.
                backup_eligible=None,
                user_handle=handle.encode("ascii"),
                **fields,
            )
        ]
