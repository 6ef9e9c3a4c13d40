"""``GET staff/events/``: the audit log, newest first, filtered, a page at a time.

Pages follow a cursor (the last event's time and id, signed) rather than a page number, so
events written while staff read do not shift or repeat what the next page shows.
"""

from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse

from ..models import MFAEvent
from ..services import user_by_id
from .responses import InvalidQuery
from .staff import StaffView, parse_moment

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
PARAMETERS = ("user", "kind", "tenant", "actor", "since", "until", "cursor", "page_size")
_CURSOR_SALT = "mfa_app.api.staff.events"
# Audit details never hold a secret (``events.record``); a key that sounds like one, or that
# names a sign-in's challenge, is left out all the same.
_SECRET_WORDS = ("code", "secret", "token", "password", "challenge")


def event_json(event: MFAEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "time": event.created_at.isoformat(),
        "kind": event.kind,
        "user_id": str(event.user_id) if event.user_id is not None else None,
        "username": event.username,
        "tenant": event.tenant,
        "factor_type": event.factor_type,
        "actor": event.actor,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "details": _public(event.details) if isinstance(event.details, dict) else {},
    }


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _public(item)
            for key, item in value.items()
            if not any(word in str(key).lower() for word in _SECRET_WORDS)
        }
    if isinstance(value, list):
        return [_public(item) for item in value]
    return value


def cursor_after(event: MFAEvent) -> str:
    return signing.dumps([event.created_at.isoformat(), event.pk], salt=_CURSOR_SALT)


def _read_cursor(value: str) -> Q:
    """Events after the one the cursor names, in the list's order; ``InvalidQuery`` if forged."""
    try:
        moment, pk = signing.loads(value, salt=_CURSOR_SALT)
        moment = datetime.fromisoformat(moment)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidQuery(field="cursor") from None
    if not isinstance(pk, int):
        raise InvalidQuery(field="cursor")
    return Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk)


def _moment(name: str, value: str) -> datetime:
    moment = parse_moment(value)
    if moment is None:
        raise InvalidQuery(field=name)
    return moment


def _page_size(value: str | None) -> int:
    if value is None:
        return PAGE_SIZE
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise InvalidQuery(field="page_size")
    return int(value)


def filtered(query: dict[str, str]) -> QuerySet:
    """The events the query's filters select, in the list's order (newest first)."""
    events = MFAEvent.objects.order_by("-created_at", "-pk")
    if "user" in query:
        user = user_by_id(query["user"])
        if user is None:
            # An id of no user, or of one deleted since: their events keep only the username.
            raise InvalidQuery(field="user")
        events = events.filter(user=user)
    if "kind" in query:
        kinds = [kind.strip() for kind in query["kind"].split(",")]
        if not all(kind in MFAEvent.Kind.values for kind in kinds):
            raise InvalidQuery(field="kind")
        events = events.filter(kind__in=kinds)
    for name in ("tenant", "actor"):
        if name in query:
            events = events.filter(**{name: query[name]})
    if "since" in query:
        events = events.filter(created_at__gte=_moment("since", query["since"]))
    if "until" in query:
        events = events.filter(created_at__lt=_moment("until", query["until"]))
    if "cursor" in query:
        events = events.filter(_read_cursor(query["cursor"]))
    return events


class EventListView(StaffView):
    http_method_names = ["get", "head"]
    permissions = {"get": (("mfa_app.mfaevent", "view"),)}

    def get(self, request: HttpRequest) -> JsonResponse:
        query = {}
        for name, values in request.GET.lists():
            # An unknown parameter is most likely a misspelt filter: never ignore a filter.
            if name not in PARAMETERS or len(values) != 1 or "\x00" in values[0]:
                raise InvalidQuery(field=name)
            query[name] = values[0]
        size = _page_size(query.get("page_size"))
        events = list(filtered(query)[: size + 1])
        more = len(events) > size
        events = events[:size]
        return JsonResponse(
            {
                "events": [event_json(e) for e in events],
                "next_cursor": cursor_after(events[-1]) if more else None,
            }
        )
