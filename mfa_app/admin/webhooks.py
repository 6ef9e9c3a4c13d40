"""Webhook endpoints (the secret shown once), and every delivery with each attempt's outcome."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import clock, crypto
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..webhooks import dispatch
from ..webhooks.transport import URLRefused, check_url
from ..webhooks.types import event_type_choices

RECENT_DELIVERIES = 10


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=event_type_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The event types sent to this URL (docs/webhooks.md describes each)."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "is_active", "events")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except URLRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean_events(self) -> list[str]:
        chosen = set(self.cleaned_data["events"])
        return [value for value, _label in event_type_choices() if value in chosen]


def _when(moment: Any) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "—"


def _delivery_url(delivery: WebhookDelivery, view: str = "change") -> str:
    return reverse(f"admin:mfa_app_webhookdelivery_{view}", args=[delivery.pk])


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "is_active", "event_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = ("secret_hint", "recent_deliveries", "created_at")
    actions = ["send_test_event"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: list = [
            (None, {"fields": ("name", "url", "is_active")}),
            (_("Events"), {"fields": ("events",)}),
            (_("Signing"), {"fields": ("secret_hint",)}),
        ]
        if obj is not None:
            fieldsets.append((_("Deliveries"), {"fields": ("recent_deliveries", "created_at")}))
        return fieldsets

    @admin.display(description=_("events"))
    def event_count(self, obj: WebhookEndpoint) -> str:
        count = len(obj.events or [])
        return ngettext("%(count)d event", "%(count)d events", count) % {"count": count}

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: WebhookEndpoint) -> str:
        if obj.pk is None:
            return _(
                "A strong secret is generated when you save, and shown once, on the next page."
            )
        try:
            ending = obj.secret[-4:]
        except crypto.DecryptionError:
            return _("The secret cannot be decrypted with MFA_ENCRYPTION_KEYS: roll it.")
        hint = format_html(
            "<code>whsec_…{}</code> {}",
            ending,
            _("Shown only when created or rolled. Lost it? Roll the secret (button above)."),
        )
        expires = obj.previous_secret_expires_at
        if obj.previous_secret is not None and expires and expires > clock.now():
            hint = format_html(
                "{}<br>{}",
                hint,
                _("Requests also carry the previous secret's signature until %(when)s.")
                % {"when": _when(expires)},
            )
        return hint

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, obj: WebhookEndpoint) -> str:
        deliveries = list(obj.deliveries.all()[:RECENT_DELIVERIES])
        if not deliveries:
            return _("None yet.")
        ids = [d.pk for d in deliveries]
        attempts = {
            a.delivery_id: a
            for a in WebhookAttempt.objects.filter(delivery__in=ids).order_by("number")
        }
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    _delivery_url(d),
                    _when(d.created_at),
                    d.event_type,
                    d.get_status_display(),
                    d.attempts,
                    outcome_text(attempts.get(d.pk)),
                    _when(d.next_attempt_at),
                )
                for d in deliveries
            ),
        )
        changelist = reverse("admin:mfa_app_webhookdelivery_changelist")
        every = f"{changelist}?{urlencode({'endpoint__id__exact': obj.pk})}"
        return format_html(
            '<table class="mfa-webhook-deliveries"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">{}</a></p>',
            _("Created"),
            _("Event"),
            _("Status"),
            _("Attempts"),
            _("Last outcome"),
            _("Next attempt"),
            rows,
            every,
            _("Every delivery to this endpoint"),
        )

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet) -> None:
        active = [endpoint for endpoint in queryset if endpoint.is_active]
        for endpoint in active:
            dispatch.send_test_event(endpoint)
        if len(active) < len(queryset):
            self.message_user(
                request, _("Inactive endpoints are sent nothing, tests included."), messages.WARNING
            )
        if active:
            message = ngettext(
                "Queued a test event for %(count)d endpoint.",
                "Queued a test event for %(count)d endpoints.",
                len(active),
            )
            self.message_user(request, message % {"count": len(active)}, messages.SUCCESS)

    # --- the secret, shown once -----------------------------------------------------------

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: Any = None
    ) -> HttpResponse:
        # The page answering the POST shows the secret: nothing keeps it in a message cookie.
        return self._secret_response(request, obj, obj.secret, _("Endpoint added"))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.roll_secret_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_roll_secret"
        return [path("<path:object_id>/roll-secret/", view, name=name), *super().get_urls()]

    def roll_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise Http404
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        if request.method == "POST":
            secret = dispatch.roll_secret(endpoint)
            self.log_change(request, endpoint, str(_("Rolled the signing secret")))
            return self._secret_response(request, endpoint, secret, _("Secret rolled"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Roll the signing secret of %(name)s?") % {"name": endpoint},
            "opts": self.opts,
            "endpoint": endpoint,
            "overlap_hours": int(dispatch.ROLL_OVERLAP.total_seconds() // 3600),
        }
        return TemplateResponse(request, "admin/mfa_app/webhookendpoint/roll_secret.html", context)

    def _secret_response(
        self, request: HttpRequest, endpoint: WebhookEndpoint, secret: str, title: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "endpoint": endpoint,
            "secret": secret,
        }
        response = TemplateResponse(request, "admin/mfa_app/webhookendpoint/secret.html", context)
        add_never_cache_headers(response)
        return response


def outcome_text(attempt: WebhookAttempt | None) -> str:
    """An attempt's outcome in a few words: the HTTP status, or the error."""
    if attempt is None:
        return "—"
    if attempt.status_code is not None:
        return f"HTTP {attempt.status_code}"
    return attempt.error or "—"


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "started_at",
        "succeeded",
        "status_code",
        "duration_ms",
        "response_excerpt",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_outcome",
        "last_attempt_at",
        "next_attempt_at",
    )
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "endpoint",
        "event_type",
        "event",
        "status",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "pretty_body",
    )
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["retry_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("attempt_log")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("mfa_app.change_webhookendpoint")

    @admin.display(description=_("last outcome"))
    def last_outcome(self, obj: WebhookDelivery) -> str:
        attempts = list(obj.attempt_log.all())
        return outcome_text(attempts[-1] if attempts else None)

    @admin.display(description=_("body"))
    def pretty_body(self, obj: WebhookDelivery) -> str:
        try:
            shown = json.dumps(json.loads(obj.body), indent=2)
        except ValueError:
            shown = obj.body
        return format_html('<pre class="mfa-webhook-body">{}</pre>', shown)

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = dispatch.retry_now(queryset)
        skipped = queryset.count() - count
        if skipped:
            message = _("Delivered ones are not sent again (%(count)d skipped).")
            self.message_user(request, message % {"count": skipped}, messages.WARNING)
        if count:
            message = ngettext("Queued %(count)d delivery.", "Queued %(count)d deliveries.", count)
            self.message_user(request, message % {"count": count}, messages.SUCCESS)
