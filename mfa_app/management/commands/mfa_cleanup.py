"""Delete the rows mfa_app no longer needs: spent codes, old challenges, ended limits and trust.

Safe from cron at any time: a row is stale only once nothing can use it again (a live code,
challenge, rate-limit window or remembered device never is), and each batch is deleted with
its condition checked again, so a row that came back to life meanwhile stays.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from ... import clock, devices, risk
from ...conf import app_settings
from ...models import Challenge, LoginRecord, MFAEvent, RateLimit, SentCode, TrustedDevice

DEFAULT_DAYS = 30
DEFAULT_BATCH = 1000
# An expired code is kept a day, so a late answer still hears "expired" rather than "no code".
SENT_CODE_KEEP = timedelta(days=1)
# The longest window of mfa_app's rate limits (codes sent per day). A row untouched for longer
# counts as much as no row: its window is over, and the next hit starts a new one.
LONGEST_RATE_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Stale:
    label: str
    rows: QuerySet


def stale_rows(now: datetime, days: int, events_days: int | None = None) -> list[Stale]:
    """What ``mfa_cleanup`` deletes at ``now``, table by table."""
    ended = now - timedelta(days=days)
    return [
        Stale("expired sent codes", SentCode.objects.filter(expires_at__lt=now - SENT_CODE_KEEP)),
        Stale("ended rate-limit windows", _stale_rate_limits(now)),
        Stale(f"challenges ended over {days} days ago", _stale_challenges(now, ended)),
        Stale(
            f"remembered devices expired or revoked over {days} days ago",
            TrustedDevice.objects.filter(Q(expires_at__lt=ended) | Q(revoked_at__lt=ended)),
        ),
        Stale("sign-in records the risk checks no longer use", _stale_login_records(now)),
        *(
            [
                Stale(
                    f"audit events over {events_days} days old",
                    MFAEvent.objects.filter(created_at__lt=now - timedelta(days=events_days)),
                )
            ]
            if events_days is not None
            else []
        ),
    ]


def _stale_rate_limits(now: datetime) -> QuerySet:
    # Settings can stretch two windows: the resend cooldown, and the one-notice-per-challenge
    # limit (a challenge's lifetime).
    quiet_since = now - max(
        LONGEST_RATE_WINDOW,
        timedelta(seconds=app_settings.CODE_RESEND_COOLDOWN),
        timedelta(seconds=app_settings.CHALLENGE_TIMEOUT),
    )
    return RateLimit.objects.filter(
        Q(last_hit_at__lt=quiet_since)
        | Q(last_hit_at__isnull=True, window_started_at__lt=quiet_since)
    )


def _stale_challenges(now: datetime, ended: datetime) -> QuerySet:
    # A session may still point at an unpassed challenge with wrong answers (a step-up page),
    # and must find it to refuse a fresh start: keep those while such a session can live.
    session_end = now - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return Challenge.objects.filter(expires_at__lt=ended).filter(
        Q(verified_at__isnull=False) | Q(failures=0) | Q(expires_at__lt=session_end)
    )


def _stale_login_records(now: datetime) -> QuerySet:
    # New location looks back NEW_LOCATION_DAYS; new device looks for the browser at any age,
    # so past that the newest record of each browser stays, until no browser can still send
    # its token (the signed cookie lasts COOKIE_MAX_AGE from when the token was made).
    look_back = now - timedelta(days=risk.NEW_LOCATION_DAYS)
    cookie_gone = now - timedelta(seconds=devices.COOKIE_MAX_AGE)
    newer_of_same_browser = LoginRecord.objects.filter(
        user=OuterRef("user"), device_digest=OuterRef("device_digest")
    ).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    return LoginRecord.objects.filter(created_at__lt=look_back).filter(
        Q(created_at__lt=cookie_gone) | Q(device_digest="") | Exists(newer_of_same_browser)
    )


def delete_in_batches(rows: QuerySet, batch_size: int) -> int:
    """Delete ``rows`` a batch at a time (short locks); return how many were deleted."""
    label = rows.model._meta.label
    deleted = 0
    while True:
        batch = list(rows.values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        with transaction.atomic():
            # The condition again: a row that became live since the SELECT is not deleted.
            _total, per_model = rows.filter(pk__in=batch).delete()
        deleted += per_model.get(label, 0)
        if len(batch) < batch_size:
            return deleted


class Command(BaseCommand):
    help = (
        "Delete rows mfa_app no longer needs: expired sent codes, ended rate-limit windows, "
        "challenges and remembered devices that ended over --days days ago, sign-in records the "
        "risk checks no longer use and, only with --events-days, old audit events. Never "
        "touches a live code, challenge, rate-limit window or remembered device; safe to run "
        "from cron at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=(
                "Keep challenges and remembered devices this many days after they ended "
                f"(default {DEFAULT_DAYS})."
            ),
        )
        parser.add_argument(
            "--events-days",
            type=int,
            help=(
                "Also delete audit events older than this many days (at least 1). Off by "
                "default: how long to keep the audit log is the site's call."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH,
            help=f"Rows per DELETE (default {DEFAULT_BATCH}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, events_days, batch_size = (
            options["days"],
            options["events_days"],
            options["batch_size"],
        )
        if days < 0:
            raise CommandError("--days cannot be negative.")
        if events_days is not None and events_days < 1:
            # The suspicious-IP check counts the last hour's failures in the audit log.
            raise CommandError("--events-days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        dry_run = options["dry_run"]
        total = 0
        for stale in stale_rows(clock.now(), days, events_days):
            if dry_run:
                count = stale.rows.count()
                self.stdout.write(f"  {stale.label}: {count} would be deleted")
            else:
                count = delete_in_batches(stale.rows, batch_size)
                self.stdout.write(f"  {stale.label}: {count} deleted")
            total += count
        if events_days is None:
            self.stdout.write("  audit events: kept (--events-days prunes them)")
        if dry_run:
            self.stdout.write(self.style.WARNING(f"Dry run: {total} rows would be deleted."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Deleted {total} rows."))
