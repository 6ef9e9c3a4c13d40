"""The audit log: every MFA event, to read and never to edit."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import MFAEvent

# What each reason of a sign-in decision (services.decide) means, for people.
REASON_LABELS = {
    "exempt_backend": _("signed in through an exempt backend"),
    "staff_rule": _("staff: MFA always required"),
    "bypass": _("bypass granted by staff"),
    "disabled": _("MFA disabled by the policy"),
    "trusted_device": _("remembered device"),
    "factor_enrolled": _("has a factor"),
    "required": _("the policy requires MFA"),
    "grace_period": _("in the grace period"),
    "no_factor": _("no factor, MFA optional"),
    "no_risk": _("no risk trigger fired"),
    "new_device": _("new device"),
    "new_location": _("new location"),
    "suspicious_ip": _("suspicious IP"),
    "password_changed": _("password changed since the last MFA"),
}
OUTCOME_LABELS = {
    "challenge": _("Challenge"),
    "enroll": _("Asked to enroll"),
    "none": _("No MFA needed"),
}


def outcome_label(details: dict) -> str:
    outcome = str(details.get("outcome", ""))
    return OUTCOME_LABELS.get(outcome, outcome)


def reason_labels(details: dict) -> list[str]:
    """The decision's reasons in words; a reason we do not know (a custom one) as it is."""
    reasons = details.get("reasons")
    if not isinstance(reasons, list):
        return []
    return [str(REASON_LABELS.get(r, r)) for r in reasons]


def decision_table(user: Any, limit: int = 10) -> str:
    """The last ``limit`` sign-in decisions for ``user``, as an HTML table."""
    decisions = MFAEvent.objects.filter(user=user, kind=MFAEvent.Kind.DECISION)[:limit]
    if not decisions:
        return _("None")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                formats.localize(timezone.localtime(e.created_at)),
                outcome_label(e.details),
                "; ".join(reason_labels(e.details)) or "—",
                e.ip_address or "—",
            )
            for e in decisions
        ),
    )
    return format_html(
        '<table class="mfa-decisions"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        _("Time"),
        _("Outcome"),
        _("Reasons"),
        _("IP address"),
        rows,
    )


# Whole titles, not "scope" + "action": the verb's form depends on the noun in most languages.
POLICY_TITLES = {
    ("tenant", "created"): _("Tenant policy created"),
    ("tenant", "changed"): _("Tenant policy changed"),
    ("tenant", "deleted"): _("Tenant policy deleted"),
    ("app", "created"): _("Application policy created"),
    ("app", "changed"): _("Application policy changed"),
    ("app", "deleted"): _("Application policy deleted"),
}


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(map(str, value)) or str(_("None"))
    return str(value) if value != "" else '""'


def policy_change_summary(details: dict) -> str:
    """``Tenant policy changed (via admin): requirement OPTIONAL → REQUIRED; ...``."""
    scope = "tenant" if details.get("scope") == "tenant" else "app"
    action = str(details.get("action", ""))
    title = POLICY_TITLES.get((scope, action), f"{scope} policy {action}")
    if details.get("via"):
        title = _("%(title)s (via %(via)s)") % {"title": title, "via": details["via"]}
    changes = details.get("changes") if isinstance(details.get("changes"), dict) else {}
    rows = format_html_join(
        "",
        "<li>{}: {} → {}</li>",
        (
            (name, _shown(change.get("before")), _shown(change.get("after")))
            for name, change in changes.items()
            if isinstance(change, dict)
        ),
    )
    return format_html("{}<ul>{}</ul>", title, rows)


@admin.register(MFAEvent)
class MFAEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "username",
        "tenant",
        "factor_type",
        "ip_address",
        "actor",
    )
    list_filter = ("kind", "factor_type")
    search_fields = ("username", "ip_address")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "kind",
        "user",
        "username",
        "tenant",
        "factor_type",
        "actor",
        "ip_address",
        "user_agent",
        "summary",
        "details",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("summary"))
    def summary(self, obj: MFAEvent) -> str:
        details = obj.details if isinstance(obj.details, dict) else {}
        if obj.kind == MFAEvent.Kind.DECISION:
            return format_html(
                "{}: {}", outcome_label(details), "; ".join(reason_labels(details)) or "—"
            )
        if obj.kind == MFAEvent.Kind.BYPASS_GRANTED:
            until = parse_datetime(str(details.get("until", "")))
            shown = formats.localize(timezone.localtime(until)) if until else "?"
            return _("until %(date)s: %(reason)s") % {
                "date": shown,
                "reason": details.get("reason", ""),
            }
        if obj.kind == MFAEvent.Kind.POLICY_CHANGED:
            return policy_change_summary(details)
        if obj.kind == MFAEvent.Kind.DEVICE_REVOKED:
            count = details.get("count") if isinstance(details.get("count"), int) else 0
            revoked = ngettext("%(count)s device", "%(count)s devices", count) % {"count": count}
            reason = details.get("reason")
            return format_html("{} ({})", revoked, reason) if reason else revoked
        return "—"
