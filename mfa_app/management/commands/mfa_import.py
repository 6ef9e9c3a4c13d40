"""Import users' authenticators from another Django MFA package (docs/migrating.md)."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from ...conf import app_settings
from ...importers import SOURCES, importer_class
from ...importers.base import (
    Importer,
    Item,
    UserPlan,
    apply,
    plan_for,
    policy_problem,
    users_named,
)
from ...importers.base import users_in_batches as batches


class Command(BaseCommand):
    help = (
        "Import the TOTP apps, security keys, phones and recovery codes of another MFA package "
        "into mfa_app, user by user (one transaction each). Records mfa_app cannot honour are "
        "refused, one line each, and their user is left untouched; running it again imports "
        "nothing twice. Stops before writing anything if a policy would not allow a factor "
        "type being imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, choices=sorted(SOURCES))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be imported and refused; change nothing.",
        )
        parser.add_argument(
            "--users", nargs="+", metavar="USERNAME", help="Import these users only."
        )
        parser.add_argument(
            "--delete-source",
            action="store_true",
            help="Delete the other package's records once they are imported (this run's and "
            "earlier runs'); refused records are kept.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Users read at a time (default 500).",
        )
        parser.add_argument(
            "--rp-id",
            help="This site's WebAuthn RP ID, when MFA_WEBAUTHN_RP_ID is not set (it then "
            "comes from each request's host).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        importer = importer_class(options["source"])(
            rp_id=options["rp_id"] or app_settings.WEBAUTHN_RP_ID
        )
        missing = importer.missing_apps()
        if missing:
            raise CommandError(
                f"{importer.label} is not installed here: add {', '.join(missing)} to "
                "INSTALLED_APPS (keep it there until the import is done)."
            )
        users, size = options["users"], options["batch_size"]
        if users is not None:
            unknown = set(users) - {u.get_username() for u in users_named(users)}
            if unknown:
                raise CommandError(f"--users: no such user: {', '.join(sorted(unknown))}")
        dry_run = options["dry_run"]
        # The policy check reads every user first: nothing is written if any would fail it.
        problems = [
            problem
            for batch in batches(importer, users, size)
            for user in batch
            if (problem := policy_problem(plan_for(importer, user)))
        ]
        if problems and not dry_run:
            raise CommandError(
                "Nothing was imported: these users' policies do not allow a factor type they "
                "would get, and they would silently lose it.\n  " + "\n  ".join(problems)
            )
        self.stdout.write(
            f"Importing from {importer.label}" + (" (dry run: nothing changes)" if dry_run else "")
        )
        totals: Counter[str] = Counter()
        for batch in batches(importer, users, size):
            for user in batch:
                self._one(importer, plan_for(importer, user), options, totals)
        for problem in problems:
            self.stdout.write(self.style.ERROR(f"policy: {problem}"))
        self._summary(totals, dry_run)

    def _one(self, importer: Importer, plan: UserPlan, options: dict, totals: Counter[str]) -> None:
        name = plan.user.get_username()
        dry_run = options["dry_run"]
        if plan.refused:
            totals["users_refused"] += 1
            totals["records_refused"] += len(plan.refused)
            self.stdout.write(self.style.WARNING(f"{name}: left untouched, refused:"))
        elif plan.to_import or plan.to_notice:
            verb = "would import" if dry_run else "imported"
            self.stdout.write(f"{name}: {verb} {_counts(plan.to_import) or 'nothing'}")
        else:
            self.stdout.write(f"{name}: nothing new to import")
        for item in plan.items:
            line = _line(item)
            if line:
                self.stdout.write(f"  {line}")
        if dry_run or plan.refused:
            if not plan.refused:
                totals["users"] += 1
                totals["factors"] += len(plan.to_import)
            return
        try:
            outcome = apply(plan, importer, delete_source=options["delete_source"])
        except IntegrityError as exc:
            # Another row took the same credential or phone meanwhile (the checks ran before
            # the transaction): this user's transaction is rolled back whole.
            totals["users_refused"] += 1
            totals["records_refused"] += 1
            self.stdout.write(
                self.style.WARNING(f"  left untouched: conflict while saving ({exc})")
            )
            return
        totals["users"] += 1
        totals["factors"] += outcome.imported
        totals["deleted"] += outcome.deleted
        if outcome.deleted:
            self.stdout.write(f"  deleted {outcome.deleted} record(s) of {importer.label}")

    def _summary(self, totals: Counter[str], dry_run: bool) -> None:
        verb = "would import" if dry_run else "imported"
        line = f"Done: {verb} {totals['factors']} factor(s) for {totals['users']} user(s)"
        if totals["deleted"]:
            line += f", deleted {totals['deleted']} source record(s)"
        if totals["users_refused"]:
            line += (
                f"; {totals['users_refused']} user(s) left untouched because of "
                f"{totals['records_refused']} refused record(s)"
            )
        self.stdout.write(self.style.SUCCESS(line + "."))


def _counts(items: list[Item]) -> str:
    counted = Counter(item.factor_type for item in items)
    ordered = sorted(counted.items(), key=lambda pair: (pair[0] == "RECOVERY", pair[0]))
    return ", ".join(f"{_type(t)} x{n}" for t, n in ordered)


def _type(factor_type: str) -> str:
    return "recovery codes" if factor_type == "RECOVERY" else factor_type or "?"


def _line(item: Item) -> str:
    what = f"{item.record} {item.name!r} ({_type(item.factor_type)})"
    if item.refusal:
        return f"refused {what}: {item.refusal}"
    if item.already:
        return f"already imported {what}"
    if item.not_carried:
        return f"not carried {what}: {item.not_carried}"
    return ""
