"""A model field whose values are stored as Fernet tokens (see ``mfa_app.crypto``)."""

from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models.query_utils import DeferredAttribute

from .. import crypto


class Sealed:
    """A value as stored: a token, decrypted only when the model attribute is read.

    Loading a row never decrypts, so a token no key opens breaks only the code that needs the
    secret (``crypto.DecryptionError``); lists, admin pages and deletion still work.
    """

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<Sealed value>"

    def open(self) -> str:
        return crypto.decrypt(self.token)


class _Decrypting(DeferredAttribute):
    # A data descriptor (it has __set__), so reads come here even when the value is loaded.
    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is None or not isinstance(value, Sealed):
            return value
        try:
            return value.open()
        except crypto.DecryptionError as exc:
            where = f"{instance._meta.label}.{self.field.name}, pk {instance.pk}"
            raise crypto.DecryptionError(f"{where}: {exc}") from exc


class EncryptedTextField(models.TextField):
    """Text encrypted with the newest key on save and decrypted when the attribute is read.

    Rows written in clear before the field was encrypted (no token prefix) read back as they
    are; ``manage.py mfa_rotate_keys`` encrypts them. Encryption is not deterministic, so the
    only lookup is ``isnull``: no equality, no uniqueness, no ordering by the value.
    """

    descriptor_class = _Decrypting

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return Sealed(value) if crypto.is_token(value) else value

    def to_python(self, value: Any) -> Any:
        # Fixtures carry tokens (``value_to_string``): keep them sealed, never encrypt twice.
        if isinstance(value, Sealed):
            return value
        return Sealed(value) if crypto.is_token(value) else super().to_python(value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        # The stored token as it is when the value was not changed: no decryption to save.
        if self.attname in model_instance.__dict__:
            return model_instance.__dict__[self.attname]
        return getattr(model_instance, self.attname)

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.token
        value = str(value)
        if crypto.is_token(value):
            raise ValueError(
                f"{crypto.TOKEN_PREFIX!r} starts every token: a clear value cannot start with it."
            )
        return crypto.encrypt(value)

    def value_to_string(self, obj: Any) -> Any:
        return self.get_prep_value(self.pre_save(obj, add=False))


@dataclass
class ResealReport:
    encrypted: int = 0  # were stored in clear
    rotated: int = 0  # were encrypted under an older key
    current: int = 0  # already encrypted under the newest key
    unreadable: list[Any] = field(default_factory=list)  # primary keys no key opens


def reseal(
    queryset: models.QuerySet, field_name: str, *, dry_run: bool = False, batch_size: int = 500
) -> ResealReport:
    """Store every value of ``field_name`` encrypted under the newest key, in batches by pk."""
    report = ResealReport()
    rows = queryset.order_by("pk").values_list("pk", field_name)
    batch = list(rows[:batch_size])
    while batch:
        with transaction.atomic(using=queryset.db):
            for pk, stored in batch:
                new = _resealed(stored, pk, report)
                if new is not None and not dry_run:
                    queryset.filter(pk=pk).update(**{field_name: new})
        batch = list(rows.filter(pk__gt=batch[-1][0])[:batch_size])
    return report


def _resealed(stored: Any, pk: Any, report: ResealReport) -> str | Sealed | None:
    """What to write for ``stored`` (a clear value is encrypted by the field), or ``None``."""
    if stored is None:
        return None
    if not isinstance(stored, Sealed):
        report.encrypted += 1
        return stored
    if crypto.is_current(stored.token):
        report.current += 1
        return None
    try:
        token = crypto.rotate(stored.token)
    except crypto.DecryptionError:
        report.unreadable.append(pk)
        return None
    report.rotated += 1
    return Sealed(token)
