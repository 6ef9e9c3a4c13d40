"""Security emails to the user about their MFA: what changed, or who failed it (REC-08, LC-10).

Which audit events send one, to which addresses, and what it says. ``notification_queue``
receives the audit signals (so pages, the JSON API, the admin and commands all send them) and,
once the transaction commits, queues ``tasks.send_notification``, which calls ``deliver`` here:
a change rolled back tells nobody, the mail server is not on the request's path (with a real
task queue), and a mail server that fails breaks no MFA action and is logged once in a while.
"""

import logging
import re
import smtplib
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.signals import request_started
from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import clock, errors, throttle
from .conf import DEFAULTS, app_settings
from .factors import fallback_factor, get_factor
from .factors.email import email_address_for
from .languages import language_for
from .models import EmailFactor, MFAEvent
from .policy import policy_for
from .services.status import CHALLENGE

logger = logging.getLogger("mfa_app.notifications")
Kind = MFAEvent.Kind

# The audit events that email the user, by their name in ``MFA_NOTIFICATIONS`` (and templates).
KINDS = {
    Kind.ENROLLED: "factor_added",
    Kind.FACTOR_REMOVED: "factor_removed",
    Kind.RECOVERY_CODE_USED: "recovery_code_used",
    Kind.RESET: "mfa_reset",
    Kind.DEVICE_REMEMBERED: "device_remembered",
    Kind.FAILED: "sign_in_failed",
    Kind.NEW_DEVICE_SIGN_IN: "new_device_sign_in",
    Kind.BYPASS_GRANTED: "bypass_granted",
    # Only for recovery codes (``queued_notification``): the user should make a new set.
    Kind.IMPORTED: "recovery_codes_imported",
}
# Kinds whose request is a staff member's: their IP and browser are theirs, no help to the user.
DONE_BY_STAFF = ("mfa_reset", "bypass_granted")
# Kinds whose request is not the user's: staff's, or a sign-in that got only past the password,
# whose sender could pick a language the user cannot read. They use the site's language.
NOT_THE_USERS_REQUEST = (*DONE_BY_STAFF, "sign_in_failed")
TEMPLATE_DIR = "mfa_app/email/notifications/"


def is_enabled(kind: str) -> bool:
    """Whether ``MFA_NOTIFICATIONS`` leaves the ``kind`` emails (``"factor_added"``...) on."""
    setting = app_settings.NOTIFICATIONS
    if isinstance(setting, bool):
        return setting
    return bool({**DEFAULTS["NOTIFICATIONS"], **setting}.get(kind, False))


@dataclass(frozen=True)
class Notification:
    """One security email to ``user``: what ``MFA_NOTIFICATION_SENDER`` is given.

    ``kind`` names the templates (``<kind>_subject.txt``, ``<kind>.txt`` and ``<kind>.html``
    in ``mfa_app/email/notifications/``); ``context`` holds what they show. They render in
    the active language, the user's (``MFA_USER_LANGUAGE``, taken when the event happened),
    and the site's time zone, unless the sender changes them.
    """

    kind: str
    user: Any
    recipients: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)

    def render(self) -> tuple[str, str, str]:
        """The subject on one line, the plain text and the HTML."""
        context = {**self.context, "user": self.user}
        subject, text, html = (
            render_to_string(f"{TEMPLATE_DIR}{self.kind}{suffix}", context)
            for suffix in ("_subject.txt", ".txt", ".html")
        )
        # Templates may leave blank lines where a block or a detail is empty.
        return " ".join(subject.split()), re.sub(r"\n\s*\n\s*\n", "\n\n", text).strip(), html

    def messages(self) -> list[EmailMultiAlternatives]:
        """One message per address, so that no address learns the others."""
        subject, text, html = self.render()
        messages = []
        for address in self.recipients:
            message = EmailMultiAlternatives(subject, text, to=[address])
            message.attach_alternative(html, "text/html")
            messages.append(message)
        return messages


def send_by_email(notification: Notification) -> None:
    """The default ``MFA_NOTIFICATION_SENDER``: through ``EMAIL_BACKEND``, on one connection."""
    get_connection().send_messages(notification.messages())


def recipients_for(user: Any, also: Iterable[str] = ()) -> tuple[str, ...]:
    """Every address of ``user``: the account's and each email factor's, once each (LC-10)."""
    stored = EmailFactor.objects.filter(user=user, confirmed=True).values_list("email", flat=True)
    unique: dict[str, str] = {}
    for address in (email_address_for(user), *stored, *also):
        address = (address or "").strip()
        if address:
            unique.setdefault(address.lower(), address)
    return tuple(unique.values())


def security_url(request: Any = None) -> str:
    """The security page's absolute URL ("" when nothing says where the site is)."""
    try:
        path = reverse("mfa_app:security")
    except NoReverseMatch:
        return ""
    if app_settings.NOTIFICATION_SITE_URL:
        return f"{str(app_settings.NOTIFICATION_SITE_URL).rstrip('/')}{path}"
    if apps.is_installed("django.contrib.sites"):
        from django.contrib.sites.models import Site

        scheme = request.scheme if request is not None else "https"
        return f"{scheme}://{Site.objects.get_current(request).domain}{path}"
    return request.build_absolute_uri(path) if request is not None else ""


_BROWSERS = [
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]
# A client's own product token, such as ``curl/8.4.0``: a name without dots, a version.
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,30}/\d[0-9.]{0,15}(?=[\s;(]|$)")


def describe_browser(user_agent: str) -> str:
    """``Chrome on Windows``, a client's product (``curl/8.4.0``), or "" when not recognised.

    The user agent is whatever the client sent: copied into the email as it is, it would let
    whoever failed a sign-in write words or a link into a genuine security message.
    """
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return format_lazy(_("{browser} on {system}"), browser=browser, system=system)
    match = _PRODUCT.match(user_agent)
    return browser or system or (match.group(0) if match else "")


def _factor_words(factor_type: str) -> Any:
    try:
        return get_factor(factor_type).label
    except KeyError:
        return ""


def event_context(kind: str, event: MFAEvent, user: Any) -> dict[str, Any]:
    """What the ``kind`` email shows of ``event``; read again from the row when it is sent."""
    details = event.details or {}
    by_user = kind not in DONE_BY_STAFF
    # The bypass's reason is left out: staff may have written it for one another.
    until = parse_datetime(str(details.get("until", ""))) if kind == "bypass_granted" else None
    return {
        "kind": kind,
        "username": user.get_username(),
        "when": event.created_at,
        "ip_address": (event.ip_address or "") if by_user else "",
        "browser": describe_browser(event.user_agent) if by_user else "",
        "factor": _factor_words(event.factor_type),
        "factor_type": event.factor_type,
        "remaining": details.get("remaining"),
        # At the last recovery code, the sign-in made and showed a new set.
        "new_codes_issued": kind == "recovery_code_used" and details.get("remaining") == 0,
        "days": details.get("days"),
        # An import: whether the previous codes still work (once each) or were left behind.
        "codes_carried": bool(details.get("carried", True)),
        "until": until,
        "support_contact": app_settings.SUPPORT_CONTACT,
    }


def site_context(user: Any, request: Any = None) -> dict[str, str]:
    """The site's name and security page, taken while the request (its host) is at hand."""
    return {
        "site_name": str(policy_for(user).issuer_for(request)),
        "security_url": security_url(request),
    }


def _first_wrong_answer_of_a_sign_in(event: MFAEvent) -> bool:
    """Whether ``event`` is a sign-in challenge's first wrong answer (RL-10).

    Only a sign-in's challenge follows a right password; a step-up is a session already
    signed in, a passkey sign-in (no challenge) had no password. One email per sign-in: a
    limit of one per challenge, kept in the database, holds even against parallel guesses.
    """
    challenge = (event.details or {}).get("challenge")
    if not challenge:
        return False
    started = (
        MFAEvent.objects.filter(
            kind=Kind.CHALLENGED, user_id=event.user_id, details__challenge=challenge
        )
        .values_list("details", flat=True)
        .first()
    )
    if not started or started.get("reason") != CHALLENGE:
        return False
    window = timedelta(seconds=app_settings.CHALLENGE_TIMEOUT)
    try:
        throttle.hit([throttle.Limit(f"notice:sign_in_failed:{challenge}", 1, window)])
    except errors.RateLimited:
        return False
    return True


# Email factors just deleted: (user pk, address, monotonic time). Removing a factor and a
# staff reset delete the rows before their event is recorded, and the address that lost its
# factor must hear of it too: the account's own address may be the one an attacker set.
# A note belongs to the request that made it: one left by a deletion with no removal event
# (by the site's own code, say) must not reach a later request of the same worker thread,
# which would tell an address taken off the account about the next change. Outside requests,
# a minute bounds it.
_removed: ContextVar[tuple[tuple[Any, str, float], ...]] = ContextVar(
    "mfa_app_removed_addresses", default=()
)
REMOVED_KEPT_SECONDS = 60.0


@receiver(request_started, dispatch_uid="mfa_app.notifications.forget_removed")
def _forget_removed_addresses(**kwargs: Any) -> None:
    if _removed.get():
        _removed.set(())


@receiver(post_delete, sender=EmailFactor, dispatch_uid="mfa_app.notifications.removed")
def _note_removed_address(
    sender: Any, instance: EmailFactor, origin: Any = None, **kwargs: Any
) -> None:
    # Not when the user (or another model) is deleted: that is no MFA event.
    if not isinstance(origin, EmailFactor) and not (
        isinstance(origin, QuerySet) and origin.model is EmailFactor
    ):
        return
    now = time.monotonic()
    kept = tuple(entry for entry in _removed.get() if now - entry[2] < REMOVED_KEPT_SECONDS)
    _removed.set((*kept, (instance.user_id, instance.email, now)))


def _take_removed_addresses(user: Any) -> list[str]:
    now = time.monotonic()
    fresh = [entry for entry in _removed.get() if now - entry[2] < REMOVED_KEPT_SECONDS]
    _removed.set(tuple(entry for entry in fresh if entry[0] != user.pk))
    return [address for pk, address, _at in fresh if pk == user.pk]


def queued_notification(event: MFAEvent, user: Any, request: Any = None) -> dict | None:
    """The arguments of ``tasks.send_notification`` for ``event``'s email, or ``None``.

    ``None`` when the kind sends none, is switched off, or there is nobody to tell. Only JSON
    (a task queue stores it): the event's id, the kind, the addresses found now (a removed
    factor's is gone later), the site's name and address (from the request) and the user's
    language now (the task runs later, in whatever language its worker has).
    """
    kind = KINDS.get(event.kind)
    if kind is None or not is_enabled(kind):
        return None
    if kind == "sign_in_failed" and not _first_wrong_answer_of_a_sign_in(event):
        return None
    if kind == "recovery_codes_imported" and event.factor_type != fallback_factor().type:
        return None
    removed = _take_removed_addresses(user) if kind in ("factor_removed", "mfa_reset") else []
    recipients = recipients_for(user, removed)
    if not recipients:
        return None
    return {
        "event_id": event.pk,
        "kind": kind,
        "recipients": list(recipients),
        "site": site_context(user, request),
        "language": language_for(user, request, from_request=kind not in NOT_THE_USERS_REQUEST),
    }


def build(event_id: int, kind: str, recipients: list[str], site: dict) -> Notification | None:
    """The email of a queued notification (``None`` if its event or user is gone since)."""
    event = MFAEvent.objects.select_related("user").filter(pk=event_id).first()
    if event is None or event.user is None:
        return None
    context = {**event_context(kind, event, event.user), **site}
    return Notification(kind, event.user, tuple(recipients), context)


def deliver(
    event_id: int, kind: str, recipients: list[str], site: dict, language: str | None = None
) -> bool:
    """Send a queued notification through ``MFA_NOTIFICATION_SENDER``; never raises.

    ``language``: the one taken when the event happened (``None``, from a task queued before
    it was stored: the site's ``LANGUAGE_CODE``).

    A failure is logged (rarely, see ``report_failure``) and the email is dropped: a security
    notice sent hours late, after the mail server is back, would mislead more than inform.
    """
    try:
        notification = build(event_id, kind, recipients, site)
        if notification is None:
            return False
        sender = app_settings.NOTIFICATION_SENDER
        sender = import_string(sender) if isinstance(sender, str) else sender
        with (
            translation.override(language or settings.LANGUAGE_CODE),
            timezone.override(timezone.get_default_timezone()),
        ):
            sender(notification)
    except Exception as exc:
        report_failure(kind, exc)
        return False
    return True


# After a failure is logged, more of the same kind (mail, or the sender) are only counted for
# this long: a mail server that is down would otherwise log once per sign-in. Per process.
QUIET_AFTER_FAILURE = timedelta(hours=1)
_failures: dict[str, tuple[datetime, int]] = {}
_failures_lock = threading.Lock()


def report_failure(kind: str, exc: Exception) -> None:
    """Log that a ``kind`` email could not be sent, once per ``QUIET_AFTER_FAILURE``.

    A mail server's error is a warning; anything else (a broken sender) an error, with the
    traceback while DEBUG is on. Never an address: no username (it may be one) and, of an SMTP
    error, only its class and code, as its text may name addresses (SMTPRecipientsRefused).
    """
    mail_error = isinstance(exc, smtplib.SMTPException | OSError)
    key = "mail" if mail_error else "sender"
    now = clock.now()
    with _failures_lock:
        logged_at, missed = _failures.get(key, (None, 0))
        if logged_at is not None and now - logged_at < QUIET_AFTER_FAILURE:
            _failures[key] = (logged_at, missed + 1)
            return
        _failures[key] = (now, 0)
    since = f" ({missed} more since the last report)" if missed else ""
    quiet = f"; the next ones are not logged for {QUIET_AFTER_FAILURE}"
    (logger.warning if mail_error else logger.error)(
        "Could not send the %s notification: %s%s%s",
        kind,
        _error_words(exc),
        since,
        quiet,
        exc_info=settings.DEBUG and not mail_error,
    )


def _error_words(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException):
        # A connection's error (refused, timed out, unknown host) names no address.
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def mail_is_configured() -> bool:
    """Whether the site chose where mail goes (a fresh project sends to SMTP on localhost:25)."""
    return settings.is_overridden("EMAIL_BACKEND") or settings.is_overridden("EMAIL_HOST")


@register()
def check_notification_mail(app_configs: Any = None, **kwargs: Any) -> list:
    """W006: notifications are on, by email, and the site never said where email goes."""
    if app_settings.NOTIFICATIONS is False or mail_is_configured():
        return []
    if app_settings.NOTIFICATION_SENDER not in (DEFAULTS["NOTIFICATION_SENDER"], send_by_email):
        return []
    return [
        Warning(
            gettext(
                "mfa_app emails security notices, but EMAIL_BACKEND and EMAIL_HOST are Django's "
                "defaults: an SMTP server on localhost, port 25."
            ),
            hint=gettext(
                "Set EMAIL_BACKEND (and EMAIL_HOST...) to your mail service, or "
                "MFA_NOTIFICATIONS = False. Until then, failures are logged once an hour."
            ),
            id="mfa_app.W006",
        )
    ]


@register()
def check_notifications(app_configs: Any = None, **kwargs: Any) -> list:
    """``MFA_NOTIFICATIONS``, ``MFA_NOTIFICATION_SENDER`` and ``MFA_NOTIFICATION_SITE_URL``."""
    problems = []
    setting = app_settings.NOTIFICATIONS
    kinds = list(DEFAULTS["NOTIFICATIONS"])
    if not isinstance(setting, bool) and not (
        isinstance(setting, dict)
        and set(setting) <= set(kinds)
        and all(isinstance(on, bool) for on in setting.values())
    ):
        problems.append(
            Error(
                gettext(
                    "MFA_NOTIFICATIONS must be True, False or a dict of kinds to True or False."
                ),
                hint=gettext("The kinds: %(kinds)s.") % {"kinds": ", ".join(kinds)},
                id="mfa_app.E012",
            )
        )
    sender = app_settings.NOTIFICATION_SENDER
    try:
        sender = import_string(sender) if isinstance(sender, str) else sender
    except ImportError:
        sender = None
    if not callable(sender):
        problems.append(
            Error(
                gettext("MFA_NOTIFICATION_SENDER %(sender)s is not an importable callable.")
                % {"sender": repr(app_settings.NOTIFICATION_SENDER)},
                hint=gettext("Give the dotted path of a callable taking a Notification."),
                id="mfa_app.E013",
            )
        )
    site_url = app_settings.NOTIFICATION_SITE_URL
    parts = urlsplit(str(site_url)) if site_url else None
    if parts is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
        problems.append(
            Error(
                gettext("MFA_NOTIFICATION_SITE_URL %(url)s is not a site address.")
                % {"url": repr(site_url)},
                hint=gettext(
                    "Give the scheme and host the site is served at, e.g. 'https://example.com'."
                ),
                id="mfa_app.E014",
            )
        )
    return problems
