"""Reset a user's MFA, as the admin's "Reset MFA" action does."""

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, ngettext

from ... import services
from .mfa_status import add_user_arguments, find_user


class Command(BaseCommand):
    help = (
        "Reset a user's MFA, like the admin action: remove every factor and recovery code, end "
        "their unfinished sign-ins and revoke their remembered devices. They set up MFA again "
        "at their next sign-in. Audited as a reset (signals, notifications and webhooks follow)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        add_user_arguments(parser)
        parser.add_argument(
            "--no-input",
            "--noinput",
            "--yes",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation (for scripts).",
        )
        parser.add_argument(
            "--by",
            metavar="STAFF_USER",
            help=(
                f"The {get_user_model().USERNAME_FIELD} of the active staff member who asked "
                "for the reset, recorded as the audit event's actor."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = find_user(options["user"], by_id=options["id"])
        actor = self._actor(options["by"]) if options["by"] else None
        status = services.mfa_status(user)
        devices = services.trusted_devices(user).count()
        held = _held(len(status.factors), status.recovery_codes_remaining, devices)
        if options["interactive"]:
            self._confirm(user, held, options.get("stdin") or sys.stdin)
        services.reset_mfa(user, actor=actor, via="command")
        self.stdout.write(
            self.style.SUCCESS(
                f"Reset the MFA of {user.get_username()}: removed {held[0]}, revoked {held[1]}, "
                "ended any unfinished sign-in."
            )
        )

    def _actor(self, username: str) -> Any:
        try:
            actor = find_user(username)
        except CommandError as exc:
            raise CommandError(f"--by: {exc}") from None
        if not (actor.is_active and actor.is_staff):
            raise CommandError(f"{username!r} is not an active staff member: --by refused.")
        return actor

    def _confirm(self, user: Any, held: tuple[str, str], stdin: Any) -> None:
        if not (hasattr(stdin, "isatty") and stdin.isatty()):
            raise CommandError(
                "Not reset: confirmation needs a terminal. Pass --no-input to reset without it."
            )
        self.stdout.write(
            f"This removes {held[0]} of {user.get_username()}, revokes {held[1]} and ends any "
            "unfinished sign-in; they set up MFA again at their next sign-in."
        )
        self.stdout.write("Type 'yes' to continue: ", ending="")
        self.stdout.flush()
        if stdin.readline().strip().lower() != "yes":
            raise CommandError("Reset cancelled: nothing was changed.")


def _held(factors: int, codes: int, devices: int) -> tuple[str, str]:
    """What a reset takes away, in words: the factors and codes, the remembered devices."""
    removed = gettext("%(factors)s and %(codes)s") % {
        "factors": ngettext("%d factor", "%d factors", factors) % factors,
        "codes": ngettext("%d recovery code", "%d recovery codes", codes) % codes,
    }
    return removed, ngettext("%d remembered device", "%d remembered devices", devices) % devices
