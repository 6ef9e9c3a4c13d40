"""A database too busy to answer: a 503 to retry, never a 500.

SQLite lets one connection write at a time; a request that waited ``timeout`` seconds for the
lock gets ``OperationalError: database is locked``. Nothing it did was kept, so the client may
send the same request again. Any other database error is a real fault and is not caught here.
"""

from django.db import connections
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from . import errors, login_state
from .replies import error_response

# SQLite's words for SQLITE_BUSY and SQLITE_LOCKED.
LOCK_MESSAGES = ("database is locked", "database table is locked", "database is busy")
RETRY_AFTER = 1
TEMPLATE = "mfa_app/busy.html"


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is a database lock that was not released in time."""
    message = str(exc).lower()
    return isinstance(exc, OperationalError) and any(m in message for m in LOCK_MESSAGES)


def give_up(request: HttpRequest) -> None:
    """Undo what the request did: an atomic block around it (``ATOMIC_REQUESTS``) rolls back,
    and the session changes that went with that work are not saved."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            connection.set_rollback(True)
    login_state.discard_changes(request)


def refusal(request: HttpRequest) -> errors.Busy:
    """Give the request up; the error to answer it with."""
    give_up(request)
    return errors.Busy(retry_after=RETRY_AFTER)


def json_response(request: HttpRequest) -> JsonResponse:
    response = error_response(refusal(request))
    response["Cache-Control"] = "no-store"
    return response


def page_response(request: HttpRequest) -> HttpResponse:
    body = render_to_string(TEMPLATE, {"retry_after": RETRY_AFTER}, request=request)
    give_up(request)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
