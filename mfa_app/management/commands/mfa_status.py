"""Show one user's MFA state: policy, factors, recovery codes, devices, lockout, recent events."""

import json
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ... import services
from ...factors import get_factor
from ...services.reports import EVENTS_SHOWN, event_summary, user_by_id, user_status
from .mfa_policy import shown

# Moved to mfa_app.services.reports (the staff API sends the same object); importable here still.
__all__ = ["EVENTS_SHOWN", "Command", "event_summary", "find_user", "user_status"]
SOURCE_LABELS = {
    services.APPLICATION: "application policy",
    services.TENANT: "tenant policy",
    services.STAFF_RULE: "staff rule",
}


def add_user_arguments(parser: CommandParser) -> None:
    model = get_user_model()
    parser.add_argument(
        "user", help=f"The user's {model.USERNAME_FIELD} (their primary key with --id)."
    )
    parser.add_argument(
        "--id", action="store_true", help="USER is the primary key, not the username."
    )


def find_user(value: str, *, by_id: bool = False) -> Any:
    """The user whose ``USERNAME_FIELD`` (or primary key) is ``value``; ``CommandError`` if none."""
    model = get_user_model()
    manager = model._default_manager
    label = "primary key" if by_id else model.USERNAME_FIELD
    if by_id:
        user = user_by_id(value)
        if user is None:
            raise CommandError(f"No user with {label} {value!r}.")
        return user
    try:
        if hasattr(manager, "get_by_natural_key"):
            # The lookup the login form uses (a custom manager may ignore case, say).
            return manager.get_by_natural_key(value)
        return manager.get(**{model.USERNAME_FIELD: value})
    except (model.DoesNotExist, ValidationError, ValueError):
        raise CommandError(f"No user with {label} {value!r}.") from None


def when(moment: str | None) -> str:
    """An ISO time from ``user_status`` in the current time zone, to the minute."""
    if not moment:
        return "never"
    return timezone.localtime(datetime.fromisoformat(moment)).strftime("%Y-%m-%d %H:%M %Z")


class Command(BaseCommand):
    help = (
        "Show a user's MFA state: whether MFA is on, the policy that applies and where it comes "
        "from, their factors (never a secret), recovery codes left, remembered devices, lockout, "
        "bypass and recent audit events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_arguments(parser)
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object, for scripts."
        )
        parser.add_argument(
            "--events",
            type=int,
            default=EVENTS_SHOWN,
            help=f"How many recent audit events to show (default {EVENTS_SHOWN}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["events"] < 0:
            raise CommandError("--events cannot be negative.")
        user = find_user(options["user"], by_id=options["id"])
        data = user_status(user, options["events"])
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._print(data)

    def _print(self, data: dict[str, Any]) -> None:
        out, style = self.stdout.write, self.style
        user = data["user"]
        out(style.MIGRATE_HEADING(f"MFA status of {user['username']} (id {user['id']})"))
        out(f"  MFA enabled: {style.SUCCESS('yes') if data['enabled'] else style.WARNING('no')}")
        policy = data["policy"]
        origin = (
            f"tenant policy: {policy['tenant']}"
            if policy["source"] == "tenant"
            else "application policy"
        )
        if policy["staff_rule"]:
            origin += ", raised to REQUIRED by the staff rule"
        out(f"  Requirement: {policy['requirement']} ({origin})")
        if policy["tenant"] is not None and policy["source"] != "tenant":
            out(f"  Tenant: {policy['tenant']} (no override: the application policy applies)")

        out(style.MIGRATE_HEADING("Effective policy"))
        for name, setting in policy["settings"].items():
            value = shown(name, setting["value"])
            out(f"  {name:<24} {value:<28} from {SOURCE_LABELS[setting['from']]}")

        out(style.MIGRATE_HEADING(f"Factors ({len(data['factors'])})"))
        if not data["factors"]:
            out("  None")
        for factor in data["factors"]:
            label = get_factor(factor["type"]).label
            primary = style.SUCCESS(" [primary]") if factor["primary"] else ""
            sends_to = f", sends to {factor['destination']}" if factor["destination"] else ""
            out(
                f"  {factor['type']:<8} {factor['name']!r} ({label}){primary}{sends_to}; "
                f"added {when(factor['added'])}, last used {when(factor['last_used'])}"
            )
        out(f"  Recovery codes remaining: {data['recovery_codes_remaining']}")
        out(f"  Remembered devices: {data['remembered_devices']}")

        out(style.MIGRATE_HEADING("Lockout and bypass"))
        failures, until = data["lockout"]["failed_attempts"], data["lockout"]["locked_until"]
        locked = style.ERROR(f"; locked until {when(until)}") if until else "; not locked"
        out(f"  Wrong answers in a row: {failures}{locked}")
        bypass = data["bypass"]
        if bypass is None:
            out("  Bypass: none")
        else:
            granted_by = bypass["granted_by"] or "-"
            out(
                style.WARNING(
                    f"  Bypass until {when(bypass['until'])} (granted by {granted_by}): "
                    f"{bypass['reason']}"
                )
            )

        out(style.MIGRATE_HEADING(f"Recent events ({len(data['events'])})"))
        if not data["events"]:
            out("  None")
        for event in data["events"]:
            extras = [event["factor"], f"by {event['actor']}" if event["actor"] else ""]
            extras += [event["ip"] or "", event["summary"]]
            out(
                f"  {when(event['time'])}  {event['kind']:<24} " + "  ".join(e for e in extras if e)
            )
