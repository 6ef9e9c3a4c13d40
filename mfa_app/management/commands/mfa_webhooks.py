"""Webhook housekeeping: show where deliveries stand, queue the due ones, prune old ones."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q

from ...models import WebhookDelivery, WebhookEndpoint
from ...webhooks import dispatch

Status = WebhookDelivery.Status


class Command(BaseCommand):
    help = (
        "Show each webhook endpoint's deliveries. --send-due queues an attempt of every due "
        "delivery: run it every minute from cron when the task backend cannot defer tasks "
        "(the immediate backend), and now and then in any case, to resend deliveries whose "
        "worker died mid-attempt. --prune DAYS deletes finished deliveries older than DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--send-due", action="store_true", help="Queue an attempt of every due delivery."
        )
        parser.add_argument(
            "--prune",
            type=int,
            metavar="DAYS",
            help="Delete delivered, failed and cancelled deliveries older than DAYS days.",
        )

    def handle(self, *args: Any, send_due: bool, prune: int | None, **options: Any) -> None:
        if prune is not None:
            if prune < 1:
                raise CommandError("--prune takes a number of days, at least 1.")
            self.stdout.write(f"Deleted {dispatch.prune(prune)} finished deliveries.")
        if send_due:
            due = dispatch.due()
            queued = dispatch.enqueue_all(due)
            self.stdout.write(f"Queued {queued} of {len(due)} due deliveries.")
            if queued < len(due):
                raise CommandError("Some deliveries could not be queued: see the log.")
        if prune is None and not send_due:
            self._summary()

    def _summary(self) -> None:
        endpoints = WebhookEndpoint.objects.annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=Status.FAILED)),
            delivered=Count("deliveries", filter=Q(deliveries__status=Status.SUCCEEDED)),
        )
        if not endpoints:
            self.stdout.write("No webhook endpoint.")
        for endpoint in endpoints:
            state = "active" if endpoint.is_active else "inactive"
            self.stdout.write(
                f"{endpoint.name} ({state}) {endpoint.url}: {endpoint.delivered} delivered, "
                f"{endpoint.pending} pending, {endpoint.failed} failed"
            )
