"""Show or change the application policy or a tenant's policy."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ... import services
from ...factors import policy_names
from ...models import ApplicationPolicy, Requirement
from ...policy import POLICY_FIELDS
from ...services.reports import policy_report
from ...tenants import get_tenant_model, tenant_by_id

# Shorter spellings of some settings' options (``--mode REQUIRED``).
ALIASES = {"requirement": ["--mode"], "grace_period_days": ["--grace-days"]}
# Fields of a tenant model that ``--tenant`` also matches, besides the primary key.
TENANT_NAME_FIELDS = ("name", "slug")
TRUE, FALSE = ("yes", "y", "true", "t", "on", "1"), ("no", "n", "false", "f", "off", "0")


def yes_no(value: str) -> bool:
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ValueError(value)


yes_no.__name__ = "yes/no value"  # What argparse calls it in its error message.


def find_tenant(value: str) -> Any:
    """The tenant whose primary key, or name (``name`` or ``slug`` field), is ``value``."""
    model = get_tenant_model()
    tenant = tenant_by_id(value)
    names = [f.name for f in model._meta.get_fields() if f.name in TENANT_NAME_FIELDS]
    for name in names:
        if tenant is None:
            tenant = model._default_manager.filter(**{name: value}).first()
    if tenant is None:
        looked_up = " or ".join(["id", *names])
        raise CommandError(f"No tenant ({model._meta.label}) with {looked_up} {value!r}.")
    return tenant


def _setting_option(field: models.Field) -> dict[str, Any]:
    """How ``set`` takes one policy field: its parser, placeholder and help."""
    text = str(field.verbose_name)
    if field.choices:
        kind, metavar = str, "MODE"
        text += f": one of {', '.join(str(value) for value, _label in field.choices)}"
    elif field.name == "allowed_factors":
        # Split and checked by mfa_app.policy.clean_allowed_factors, as the service's input.
        kind, metavar = str.upper, "TYPES"
        text += f": comma-separated, from {','.join(policy_names())} (empty: none)"
    elif isinstance(field, models.BooleanField):
        kind, metavar = yes_no, "yes|no"
        text += ": yes or no"
    elif isinstance(field, models.IntegerField):
        # The model's validation converts and checks it, as the admin form's does.
        kind, metavar = str, "N"
        text += ": {} to {}".format(*_bounds(field))
    else:
        kind, metavar = str, "TEXT"
    help_text = f"{text}. {field.help_text}" if field.help_text else f"{text}."
    return {"type": kind, "metavar": metavar, "help": help_text}


def _bounds(field: models.IntegerField) -> tuple[Any, Any]:
    low = next((v.limit_value for v in field.validators if isinstance(v, MinValueValidator)), 0)
    high = next((v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)), "")
    return low, high


def shown(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "allowed_factors":
        return ", ".join(value) or "none"
    if name == "issuer" and not value:
        return "(the site's name)"
    return str(value)


class Command(BaseCommand):
    help = (
        "Show the application MFA policy or a tenant's (--tenant), or change it: "
        "'mfa_policy set --mode REQUIRED --allowed-factors TOTP,WEBAUTHN [--tenant X]'. Values "
        "are checked as in the admin; a bad one changes nothing. Changing a tenant's setting "
        "turns its override on (--override off keeps it off)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            choices=["show", "set"],
            default="show",
            help="show (the default) or set.",
        )
        parser.add_argument(
            "--tenant",
            metavar="ID_OR_NAME",
            help="A tenant's policy instead of the application policy.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON, for scripts.")
        parser.add_argument(
            "--override",
            type=yes_no,
            metavar="on|off",
            help="With set and --tenant: whether the tenant policy overrides the application's.",
        )
        settings = parser.add_argument_group("settings (with set)")
        for name in POLICY_FIELDS:
            settings.add_argument(
                f"--{name.replace('_', '-')}",
                *ALIASES.get(name, []),
                dest=name,
                **_setting_option(ApplicationPolicy._meta.get_field(name)),
            )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = find_tenant(options["tenant"]) if options["tenant"] is not None else None
        changes = {name: options[name] for name in POLICY_FIELDS if options[name] is not None}
        if options["action"] == "show":
            if changes or options["override"] is not None:
                raise CommandError("To change settings, use 'mfa_policy set ...'.")
        else:
            self._set(tenant, changes, options["override"], quiet=options["json"])
        self._show(tenant, as_json=options["json"])

    def _set(
        self, tenant: Any, changes: dict[str, Any], override: bool | None, *, quiet: bool
    ) -> None:
        if not changes and override is None:
            raise CommandError("Nothing to set: give at least one setting (see --help).")
        if override is not None and tenant is None:
            raise CommandError("--override needs --tenant: only a tenant policy overrides.")
        if "requirement" in changes:
            changes["requirement"] = changes["requirement"].upper()
        try:
            # A command has no staff member to name: the audit log says how instead.
            services.update_policy(tenant, override=override, via="command", **changes)
        except ValidationError as exc:
            raise CommandError(
                "Nothing was changed:\n" + "\n".join(f"  {m}" for m in _messages(exc))
            ) from None
        if not quiet:
            where = (
                f"the policy of tenant {tenant}" if tenant is not None else "the application policy"
            )
            self.stdout.write(self.style.SUCCESS(f"Saved {where}."))

    def _show(self, tenant: Any, *, as_json: bool) -> None:
        policy = services.get_policy(tenant)
        data = policy_report(tenant)
        if as_json:
            self.stdout.write(json.dumps(data, indent=2))
            return
        out, style = self.stdout.write, self.style
        if tenant is None:
            out(style.MIGRATE_HEADING("Application policy"))
        elif policy is None:
            out(style.MIGRATE_HEADING(f"Tenant {tenant}: no tenant policy"))
            out("  Its users follow the application policy ('set --tenant' creates one).")
            return
        else:
            on = style.SUCCESS("on") if policy.override else style.WARNING("off")
            out(style.MIGRATE_HEADING(f"Tenant policy of {tenant}") + f" (override {on})")
            if not policy.override:
                out("  Not in force: the tenant's users follow the application policy.")
        for name, value in data["policy"].items():
            out(f"  {name:<24} {shown(name, value)}")
        if data["staff_always_required"] and policy.requirement != Requirement.REQUIRED:
            out("  Staff and superusers are under REQUIRED anyway (MFA_STAFF_ALWAYS_REQUIRED).")


def _messages(error: ValidationError) -> list[str]:
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        f"{name.replace('_', '-')}: {' '.join(messages)}"
        for name, messages in error.message_dict.items()
    ]
