"""SQLite under concurrent answers: one success, and a locked database is a 503, never a 500.

The tests copy the (in-memory) test database into a file and point every new connection at it,
as the example site runs: each worker thread is a request with its own connection to the file,
through the whole middleware stack. The main thread's connection stays on the test database
and is not used while the copy is in play.
"""

import json
import os
import runpy
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.utils import OperationalError
from django.test import Client
from django.urls import reverse

from example_project import settings as example_settings
from mfa_app import busy
from mfa_app.models import Challenge

from .factories import TOTPFactorFactory, code_for
from .test_api import pending_api, url
from .test_api_challenge import challenge_of

pytestmark = pytest.mark.django_db(transaction=True)

JOIN_TIMEOUT = 30
WORKERS = 30


def example_sqlite_options() -> dict:
    """The example site's SQLite ``OPTIONS``, also in a run where it is on PostgreSQL."""
    saved = os.environ.pop("MFA_DB", None)
    try:
        values = runpy.run_path(example_settings.__file__)
    finally:
        if saved is not None:
            os.environ["MFA_DB"] = saved
    return values["DATABASES"]["default"]["OPTIONS"]


IMMEDIATE = example_sqlite_options()


@pytest.fixture
def use_file(tmp_path, monkeypatch) -> Callable[[dict], str]:
    """Copy the test database to a file; new connections open it with the ``OPTIONS`` given."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locking only")

    def copy(options: dict) -> str:
        path = str(tmp_path / "site.sqlite3")
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
        target.close()
        database = {**connections.settings["default"], "NAME": path, "OPTIONS": options}
        monkeypatch.setitem(connections.settings, "default", database)
        return path

    return copy


def in_thread(action: Callable[[], Any]) -> Any:
    """``action`` on a connection of its own (to the file, once ``use_file`` ran)."""
    return run_together(1, lambda _: action())[0]


def run_together(workers: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``workers`` threads released together; what each returned."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[i] = action(i)
        except BaseException as exc:  # a worker's failure is reported, not lost in the thread
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results


def browser_like(client: Client) -> Client:
    """Another connection of the same browser: its cookies, its own request handler."""
    copy = Client(enforce_csrf_checks=True, raise_request_exception=False)
    for name, morsel in client.cookies.items():
        copy.cookies[name] = morsel.value
    return copy


def post_json(client: Client, path: str, data: dict):
    return client.post(
        path,
        json.dumps(data),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies[settings.CSRF_COOKIE_NAME].value,
    )


@pytest.fixture
def pending():
    """A pending login with an authenticator app, its challenge id, and a right code."""
    device = TOTPFactorFactory()
    api = pending_api(device.user)
    return api, challenge_of(api)["id"], code_for(device)


def describe(response) -> str:
    if isinstance(response, BaseException):
        return repr(response)
    return f"{response.status_code} {response.content[:200]!r}"


# --- thirty answers at once -----------------------------------------------------------------

# What the losers may be told: the challenge was passed (they read the pending login before the
# winner signed it in), it is gone with the old session (they read it after), too many answers,
# or the database was too busy (only when transactions do not take the lock up front).
LOSING = {
    409: "challenge_already_verified",
    401: "not_authenticated",
    429: "rate_limited",
    503: "busy",
}


@pytest.mark.parametrize(
    "options", [IMMEDIATE, {}], ids=["example-site-immediate", "django-default-deferred"]
)
def test_thirty_parallel_answers_on_sqlite_give_one_success_and_no_500(use_file, pending, options):
    api, challenge_id, code = pending
    clients = [browser_like(api.client) for _ in range(WORKERS)]
    use_file(options)
    answer = {"challenge_id": challenge_id, "factor": "TOTP", "code": code}

    responses = run_together(WORKERS, lambda i: post_json(clients[i], url("verify"), answer))

    assert all(not isinstance(r, BaseException) for r in responses), list(map(describe, responses))
    statuses = sorted(r.status_code for r in responses)
    if options:
        assert statuses.count(200) == 1, list(map(describe, responses))
    else:
        # Without IMMEDIATE, the would-be winner may itself fail as busy, after its attempt
        # was counted: never two winners and never a 500, but perhaps no winner either.
        assert statuses.count(200) <= 1, list(map(describe, responses))
    for response in responses:
        if response.status_code == 200:
            continue
        assert response["Content-Type"] == "application/json", describe(response)
        assert response["Cache-Control"] == "no-store"
        code_seen = response.json()["error"]["code"]
        if response.status_code == 429:
            assert code_seen in ("rate_limited", "mfa_wait"), describe(response)
        else:
            assert LOSING.get(response.status_code) == code_seen, describe(response)
        if response.status_code == 503:
            assert response["Retry-After"] == str(busy.RETRY_AFTER)
    verified = in_thread(lambda: Challenge.objects.get(pk=challenge_id))
    assert (verified.verified_at is not None) == (200 in statuses)
    assert verified.failures == 0


def test_the_example_sites_sqlite_settings_take_the_lock_up_front():
    assert IMMEDIATE["transaction_mode"] == "IMMEDIATE"
    assert IMMEDIATE["timeout"] >= 5


# --- a database locked longer than the timeout ----------------------------------------------


class WriteLock:
    """Another process holding SQLite's write lock on the site's database file."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> "WriteLock":
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.execute("ROLLBACK")
        self.db.close()


# A lock wait short enough for a test.
QUICK = {**IMMEDIATE, "timeout": 0.05}


def test_an_answer_that_cannot_get_the_lock_is_a_503_to_retry(use_file, pending):
    api, challenge_id, code = pending
    client = browser_like(api.client)
    path = use_file(QUICK)
    answer = {"challenge_id": challenge_id, "factor": "TOTP", "code": code}

    with WriteLock(path):
        response = in_thread(lambda: post_json(client, url("verify"), answer))

    assert response.status_code == 503, describe(response)
    assert response["Retry-After"] == "1"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "valid": False,
        "error": {
            "code": "busy",
            "message": "The site is busy. Please try again in a moment.",
            "retry_after": 1,
        },
    }
    # Nothing happened: the same request, sent again, signs in.
    assert in_thread(lambda: Challenge.objects.get(pk=challenge_id).failures) == 0
    retried = in_thread(lambda: post_json(client, url("verify"), answer))
    assert retried.status_code == 200, describe(retried)
    assert retried.json()["status"] == "AUTHENTICATED"


def test_the_challenge_page_answers_a_locked_database_with_a_503_page(use_file, pending):
    api, _, code = pending
    client = browser_like(api.client)
    client.handler.enforce_csrf_checks = False
    path = use_file(QUICK)

    with WriteLock(path):
        response = in_thread(
            lambda: client.post(reverse("mfa_app:challenge"), {"factor": "TOTP", "code": code})
        )

    assert response.status_code == 503, describe(response)
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("text/html")
    assert "Please try again" in response.content.decode()
    retried = in_thread(
        lambda: client.post(reverse("mfa_app:challenge"), {"factor": "TOTP", "code": code})
    )
    assert retried.status_code == 302, describe(retried)


def test_only_lock_errors_are_busy():
    assert busy.is_busy(OperationalError("database is locked"))
    assert busy.is_busy(OperationalError("database table is locked: mfa_app_challenge"))
    assert not busy.is_busy(OperationalError("no such table: mfa_app_challenge"))
    assert not busy.is_busy(OperationalError("disk I/O error"))
    assert not busy.is_busy(RuntimeError("database is locked"))
