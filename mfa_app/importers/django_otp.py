"""django-otp: ``TOTPDevice`` (hex key, its own digits and step) and ``StaticDevice`` tokens."""

import base64
from collections.abc import Callable, Iterable
from typing import Any

from django_otp import device_classes

from .base import RECOVERY, Importer, Item, record_key


class DjangoOTPImporter(Importer):
    source = "django_otp"
    label = "django-otp"
    requires = ("django_otp",)

    def handlers(self) -> dict[str, Callable[[Any], list[Item]]]:
        """The peer's device models this importer reads, by ``app_label.model``."""
        return {"otp_totp.totpdevice": self.totp, "otp_static.staticdevice": self.static}

    def device_models(self) -> list[Any]:
        # Every django-otp device of the site but mfa_app's own factors (they are devices too).
        return [m for m in device_classes() if m._meta.app_label != "mfa_app"]

    def user_ids(self) -> Iterable[Any]:
        for model in self.device_models():
            yield from model.objects.values_list("user_id", flat=True)

    def items(self, user: Any) -> list[Item]:
        handlers = self.handlers()
        items: list[Item] = []
        for model in self.device_models():
            for device in model.objects.filter(user=user).order_by("pk"):
                if not device.confirmed:
                    continue  # never finished setting up: not a factor the user relies on
                handler = handlers.get(model._meta.label_lower)
                if handler is None:
                    items.append(unsupported(device, model._meta.verbose_name))
                else:
                    items.extend(handler(device))
        return items

    def totp(self, device: Any) -> list[Item]:
        secret = base64.b32encode(bytes.fromhex(device.key)).decode("ascii")
        return [
            self.totp_item(
                record_key(device),
                device.name,
                secret,
                digits=device.digits,
                period=device.step,
                t0=device.t0,
                # The last step django-otp accepted: a code already used stays refused.
                last_t=device.last_t,
                delete=device.delete,
            )
        ]

    def static(self, device: Any) -> list[Item]:
        # django-otp deletes a token when it is used: the rows left are the unused codes.
        codes = list(device.token_set.values_list("token", flat=True))
        fields = {"codes": codes, "legacy_format": "django_otp"}
        return [Item(record_key(device), RECOVERY, device.name, fields, delete=device.delete)]


def unsupported(device: Any, what: Any) -> Item:
    return Item(record_key(device), "", device.name, refusal=f"{what}: not supported by mfa_app")
