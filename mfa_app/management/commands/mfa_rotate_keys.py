"""Re-encrypt every encrypted value under the newest key in ``MFA_ENCRYPTION_KEYS``."""

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from ... import crypto
from ...models.fields import EncryptedTextField, reseal


def encrypted_fields() -> Iterator[tuple[type[models.Model], models.Field]]:
    for model in apps.get_models():
        if not model._meta.proxy:
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedTextField):
                    yield model, field


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (TOTP secrets) under the newest key in "
        "MFA_ENCRYPTION_KEYS, and encrypt values still stored in clear. Safe to run again. "
        "Rotation: put a new key first, run this, then drop the old key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args: Any, dry_run: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            crypto.keyring()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        would = "would be " if dry_run else ""
        unreadable = []
        for model, field in encrypted_fields():
            report = reseal(
                model._base_manager.all(), field.name, dry_run=dry_run, batch_size=batch_size
            )
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {report.encrypted} {would}encrypted (were "
                f"in clear), {report.rotated} {would}re-encrypted under the newest key, "
                f"{report.current} already under it, {len(report.unreadable)} unreadable."
            )
            unreadable += [f"{model._meta.label} pk {pk}" for pk in report.unreadable]
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        if unreadable:
            raise CommandError(
                f"No key in MFA_ENCRYPTION_KEYS opens {len(unreadable)} value(s): "
                f"{', '.join(unreadable[:20])}. Put back the key that encrypted them, or have "
                "those users set up the factor again (delete the device). Everything else was "
                "processed."
            )
