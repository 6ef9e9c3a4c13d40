"""The scenarios, run inside one configured Django process (see ``bench/worker.py``).

Every scenario drives the site through ``django.test.Client`` on a fresh SQLite file. Timed
iterations run without query capture; queries are counted on separate iterations, with
``CaptureQueriesContext``, because recording them costs time too.

TOTP codes are single use per device and step, so every iteration that answers a challenge
uses a user of its own from a pool created at setup, each with its own client IP (the
per-IP limit on MFA answers would otherwise refuse the 101st answer of the hour).
"""

import base64
import gc
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

PASSWORD = "bench-password-4281"  # noqa: S105
LOGIN_URL = "/accounts/login/"
CHALLENGE_URL = "/mfa/challenge/"
VERIFIED_URLS = {"S1": "/private/", "S1b": "/api/me/"}
ENROLL_TOTP_URL = "/mfa/enroll/totp/"
IS_MFA_SITE = "mfa_app.middleware.MFAMiddleware" in settings.MIDDLEWARE
TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Tables a bare Django login or page uses too; every other statement is mfa_app's.
DJANGO_TABLES = ('"django_session"', '"auth_user"')


class BenchError(RuntimeError):
    """The site did not answer as a scenario expects: the numbers would mean nothing."""


@dataclass
class PoolUser:
    username: str
    key: str
    ip: str
    codes: list[str] = field(default_factory=list)


@dataclass
class State:
    pools: dict[str, Iterator[PoolUser]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


STATE = State()


# --- setup ------------------------------------------------------------------------------------


def setup(pool: dict[str, int], background_users: int = 0, seed: int = 1) -> dict[str, Any]:
    """Migrate the (fresh) database and create the users the scenarios consume."""
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter()
    encoded = make_password(PASSWORD)
    rng = random.Random(seed)  # noqa: S311 (which users, not secrets)
    out: dict[str, Any] = {"migrate_s": round(migrated - started, 2)}
    if background_users:
        _bulk_users(background_users, encoded)
        out["background_s"] = round(time.perf_counter() - migrated, 1)
        # Pool users are a random sample of the million: their rows sit all over the tables.
        ids = rng.sample(range(1, background_users + 1), pool.get("totp", 0))
        users = _existing_pool(ids)
        STATE.pools["totp"] = iter(users)
        STATE.sizes["totp"] = len(users)
    else:
        offset = 0
        for kind, count in pool.items():
            users = _new_pool(kind, count, encoded, offset)
            offset += count
            STATE.pools[kind] = iter(users)
            STATE.sizes[kind] = len(users)
    out["setup_s"] = round(time.perf_counter() - started, 1)
    out["users"] = get_user_model().objects.count()
    return out


def _ip(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _new_pool(kind: str, count: int, encoded: str, offset: int) -> list[PoolUser]:
    """``totp``: users with an authenticator app; ``recovery``: and recovery codes;
    ``plain``: no factor at all (they sign in without MFA and may enroll)."""
    from mfa_app.factors.totp import generate_secret
    from mfa_app.models import TOTPFactor
    from mfa_app.services import recovery_codes_after_enrollment

    user_model = get_user_model()
    users = [
        user_model(username=f"{kind}{i}", email=f"{kind}{i}@example.com", password=encoded)
        for i in range(count)
    ]
    with transaction.atomic():
        users = user_model.objects.bulk_create(users)
        keys = [generate_secret() for _ in users] if kind != "plain" else []
        TOTPFactor.objects.bulk_create(
            TOTPFactor(user=u, name="Phone", key=k, confirmed=True, is_primary=True)
            for u, k in zip(users, keys, strict=False)
        )
    pool = []
    for i, user in enumerate(users):
        codes = recovery_codes_after_enrollment(user) if kind == "recovery" else []
        key = keys[i] if keys else ""
        pool.append(PoolUser(user.username, key, _ip(offset + i + 1), codes))
    return pool


def _bulk_users(count: int, encoded: str, batch: int = 20_000) -> None:
    """``count`` users each holding a confirmed TOTP factor: raw inserts, in batches.

    Each table's row is built once through the model's fields (so new columns with defaults
    are filled as the ORM would); only the ids, names and secrets change from row to row.
    """
    from mfa_app.models import TOTPFactor

    user_model = get_user_model()
    user_sql, user_row = _template(user_model, password=encoded, is_active=True)
    totp_sql, totp_row = _template(
        TOTPFactor, user_id=1, name="Phone", key="", confirmed=True, is_primary=True
    )
    # Secrets as stored (encrypted, if the field encrypts): a thousand distinct ones, reused,
    # so the rows have their real size without a million encryptions.
    key_field = TOTPFactor._meta.get_field("key")
    stored = [key_field.get_db_prep_save(_secret(), connection) for _ in range(1000)]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(1, count + 1, batch):
            ids = range(start, min(start + batch, count + 1))
            cursor.executemany(
                user_sql,
                [user_row(id=i, username=f"bg{i}", email=f"bg{i}@example.com") for i in ids],
            )
            cursor.executemany(
                totp_sql,
                [totp_row(id=i, user_id=i, key=stored[i % len(stored)]) for i in ids],
            )


def _template(model: Any, **values: Any) -> tuple[str, Callable[..., list[Any]]]:
    """An INSERT for ``model`` and a function returning one row of it with columns replaced."""
    instance = model(**values)
    fields = model._meta.concrete_fields
    base = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    index = {f.attname: i for i, f in enumerate(fields)}
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model)
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )

    def row(**changes: Any) -> list[Any]:
        out = list(base)
        for name, value in changes.items():
            out[index[name]] = value
        return out

    return sql, row


def _secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _existing_pool(ids: list[int]) -> list[PoolUser]:
    from mfa_app.models import TOTPFactor

    factors = TOTPFactor.objects.filter(user_id__in=ids).select_related("user")
    by_user = {f.user_id: f for f in factors}
    return [
        PoolUser(by_user[i].user.username, by_user[i].key, _ip(n + 1)) for n, i in enumerate(ids)
    ]


def take(kind: str) -> PoolUser:
    try:
        return next(STATE.pools[kind])
    except StopIteration:
        raise BenchError(f"the pool of {kind!r} users ({STATE.sizes[kind]}) is used up") from None


# --- steps ------------------------------------------------------------------------------------


def _expect(response: Any, status: int, where: str, location: str | None = None) -> None:
    got = response.get("Location", "")
    if response.status_code != status or (location is not None and got != location):
        raise BenchError(
            f"{where}: {response.status_code} {got!r}, expected {status} {location or ''}"
        )


def client_for(user: PoolUser) -> Client:
    return Client(REMOTE_ADDR=user.ip, HTTP_USER_AGENT="mfa-bench")


def password_login(client: Client, user: PoolUser, get_form: bool = False) -> None:
    if get_form:
        _expect(client.get(LOGIN_URL), 200, "GET login")
    response = client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})
    # A pending login goes straight to its challenge; otherwise to the landing page.
    challenged = IS_MFA_SITE and user.key
    expected = CHALLENGE_URL if challenged else _resolve(settings.LOGIN_REDIRECT_URL)
    _expect(response, 302, "POST login", expected)


def answer(client: Client, factor: str, code: str) -> None:
    response = client.post(CHALLENGE_URL, {"factor": factor, "code": code})
    _expect(response, 302, f"POST challenge ({factor})", _resolve(settings.LOGIN_REDIRECT_URL))


def _resolve(url: str) -> str:
    from django.shortcuts import resolve_url

    return resolve_url(url)


def totp_code(user: PoolUser) -> str:
    return pyotp.TOTP(user.key).now()


def signed_in(kind: str = "totp") -> Client:
    """A client past every login step the site asks for."""
    user = take(kind)
    client = client_for(user)
    password_login(client, user)
    if IS_MFA_SITE and user.key:
        answer(client, "TOTP", totp_code(user))
    return client


# --- scenarios: each returns (prepare, timed) for one iteration ------------------------------
# ``prepare()`` runs untimed and returns the state ``timed(state)`` needs; ``timed`` returns
# per-step durations (ns) when the scenario has steps, else ``None``.

Prepared = tuple[Callable[[], Any], Callable[[Any], dict[str, int] | None]]


def s1(url: str) -> Callable[[], Prepared]:
    def make() -> Prepared:
        client = signed_in()
        _expect(client.get(url), 200, f"GET {url}")

        def timed(_: Any) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise BenchError(f"GET {url}: {response.status_code}")

        return (lambda: None), timed

    return make


def s2(kind: str = "totp") -> Callable[[], Prepared]:
    def make() -> Prepared:
        def prepare() -> tuple[Client, str]:
            user = take(kind)
            client = client_for(user)
            password_login(client, user)
            return client, totp_code(user)

        def timed(state: tuple[Client, str]) -> None:
            answer(state[0], "TOTP", state[1])

        return prepare, timed

    return make


def s3() -> Prepared:
    """A browser's whole sign-in, redirects followed, up to the first page shown signed in.

    Bare: the form, the password, the landing page. MFA site: the form, the password (which
    redirects straight to the challenge), the challenge page, the code, the landing page.
    """

    def prepare() -> PoolUser:
        return take("totp")

    def timed(user: PoolUser) -> dict[str, int]:
        client = client_for(user)
        steps: dict[str, int] = {}
        landing = _resolve(settings.LOGIN_REDIRECT_URL)

        def step(label: str, method: str, url: str, data: Any = None) -> Any:
            start = time.perf_counter_ns()
            response = getattr(client, method)(url, data)
            steps[label] = time.perf_counter_ns() - start
            return response

        _expect(step("GET login", "get", LOGIN_URL), 200, "GET login")
        data = {"username": user.username, "password": PASSWORD}
        # The MFA site sends the password's redirect straight to the challenge.
        after_password = CHALLENGE_URL if IS_MFA_SITE else landing
        _expect(step("POST login", "post", LOGIN_URL, data), 302, "POST login", after_password)
        if IS_MFA_SITE:
            _expect(step("GET challenge", "get", CHALLENGE_URL), 200, "GET challenge")
            data = {"factor": "TOTP", "code": totp_code(user)}
            response = step("POST challenge", "post", CHALLENGE_URL, data)
            _expect(response, 302, "POST challenge", landing)
        _expect(step("GET / (landing)", "get", landing), 200, "GET / (landing)")
        return steps

    return prepare, timed


def s4() -> Prepared:
    client = signed_in("plain")  # a fresh login: adding a factor needs one (re-auth timeout)
    _expect(client.get(ENROLL_TOTP_URL), 200, "GET enroll TOTP")

    def timed(_: Any) -> None:
        response = client.get(ENROLL_TOTP_URL)
        if response.status_code != 200 or b"<svg" not in response.content:
            raise BenchError(f"GET {ENROLL_TOTP_URL}: {response.status_code}, or no QR code")

    return (lambda: None), timed


def s5() -> Prepared:
    def prepare() -> tuple[Client, str]:
        user = take("recovery")
        client = client_for(user)
        password_login(client, user)
        return client, user.codes[0]

    def timed(state: tuple[Client, str]) -> None:
        answer(state[0], "RECOVERY", state[1])

    return prepare, timed


SCENARIOS: dict[str, Callable[[], Prepared]] = {
    "S1": s1(VERIFIED_URLS["S1"]),
    "S1b": s1(VERIFIED_URLS["S1b"]),
    "S2": s2(),
    "S3": s3,
    "S4": s4,
    "S5": s5,
    "S6": s2(),
}


def run(
    scenario: str, n: int, warmup: int, table: dict[str, Callable[[], Prepared]] | None = None
) -> dict[str, Any]:
    """``warmup`` untimed iterations, then ``n`` timed ones: their durations in ns.

    ``table``: the site's scenarios (a peer site's module passes its own; default mfa_app's).
    """
    prepare, timed = (table or SCENARIOS)[scenario]()
    for _ in range(warmup):
        timed(prepare())
    samples, steps = [], {}
    gc.collect()
    for _ in range(n):
        state = prepare()
        start = time.perf_counter_ns()
        parts = timed(state)
        samples.append(time.perf_counter_ns() - start)
        for name, ns in (parts or {}).items():
            steps.setdefault(name, []).append(ns)
    return {"samples": samples, "steps": steps}


def queries(
    scenario: str, repeat: int = 3, table: dict[str, Callable[[], Prepared]] | None = None
) -> dict[str, Any]:
    """The SQL of ``repeat`` iterations (after one warm-up): counts per iteration, and the
    statements of the last one."""
    prepare, timed = (table or SCENARIOS)[scenario]()
    timed(prepare())
    runs = []
    for _ in range(repeat):
        state = prepare()
        with CaptureQueriesContext(connection) as captured:
            timed(state)
        runs.append([q["sql"] for q in captured.captured_queries])
    counts = [classify(sqls) for sqls in runs]
    return {"per_iteration": counts, "sql": runs[-1]}


def classify(sqls: list[str]) -> dict[str, int]:
    tx = [s for s in sqls if s.lstrip().upper().startswith(TX_CONTROL)]
    statements = [s for s in sqls if s not in tx]
    writes = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    django = [s for s in statements if _main_table(s) in DJANGO_TABLES]
    return {
        "commits": _commits(sqls),
        "statements": len(statements),
        "writes": len(writes),
        "tx_control": len(tx),
        "django_tables": len(django),
        "other_tables": len(statements) - len(django),
        "other_writes": len([s for s in writes if _main_table(s) not in DJANGO_TABLES]),
    }


def _commits(sqls: list[str]) -> int:
    """Transactions that wrote: each COMMIT, and each write made outside a transaction
    (autocommit). Each one is a flush to disk (SQLite's fsync, PostgreSQL's WAL flush)."""
    commits, depth = 0, 0
    for sql in sqls:
        head = sql.lstrip().upper()
        if head.startswith("BEGIN"):
            depth += 1
        elif head.startswith(("COMMIT", "ROLLBACK")):
            depth = max(0, depth - 1)
            commits += head.startswith("COMMIT")
        elif depth == 0 and head.startswith(WRITES):
            commits += 1
    return commits


def _main_table(sql: str) -> str:
    words = sql.split()
    upper = [w.upper() for w in words]
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in upper:
            index = upper.index(keyword) + 1
            if index < len(words):
                return words[index]
    return ""


def middleware_ab(scenario: str, n: int, warmup: int) -> dict[str, Any]:
    """S1 inside one process: one verified session, requests alternating between the site's
    handler and one without ``MFAMiddleware``. No other process, no drift between the two:
    what is left is the middleware's own cost."""
    from django.test import override_settings

    url = VERIFIED_URLS[scenario]
    with_mfa = signed_in()
    without = [m for m in settings.MIDDLEWARE if m != "mfa_app.middleware.MFAMiddleware"]
    with override_settings(MIDDLEWARE=without):
        plain = Client(REMOTE_ADDR="10.255.255.254", HTTP_USER_AGENT="mfa-bench")
        plain.cookies = with_mfa.cookies
        _expect(plain.get(url), 200, f"GET {url} without MFAMiddleware")  # builds its chain
    samples: dict[str, list[int]] = {"bare": [], "mfa": []}
    pair = (("bare", plain), ("mfa", with_mfa))
    for i in range(warmup + n):
        for name, client in pair if i % 2 else reversed(pair):
            start = time.perf_counter_ns()
            response = client.get(url)
            elapsed = time.perf_counter_ns() - start
            if response.status_code != 200:
                raise BenchError(f"GET {url} ({name}): {response.status_code}")
            if i >= warmup:
                samples[name].append(elapsed)
    return {"samples": samples}


# --- S4: the QR code alone ---------------------------------------------------------------------


def qr(n: int) -> dict[str, Any]:
    """Our QR SVG vs the peers' (qrcode's SvgPathImage), for the URI the enrollment page shows.

    Also times what the two share, ``QRCode.make(fit=True)``, and the same with a fixed mask
    pattern (what skipping the eight-mask search would save).
    """
    from mfa_app import services
    from mfa_app.qr import qr_svg

    user = get_user_model().objects.order_by("pk").first()
    request = RequestFactory().get(ENROLL_TOTP_URL)
    uri = services.totp_setup(user, services.new_totp_secret(), request).uri

    def ours() -> str:
        return qr_svg(uri)

    def peers() -> str:
        image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
        return image.to_string(encoding="unicode")

    def matrix_only() -> list:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(uri)
        code.make(fit=True)
        return code.get_matrix()

    def fixed_mask() -> list:
        code = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=0
        )
        code.add_data(uri)
        code.make(fit=True)
        return code.get_matrix()

    candidates = {"ours": ours, "peers": peers, "matrix": matrix_only, "fixed_mask": fixed_mask}
    for fn in candidates.values():
        fn()
    samples: dict[str, list[int]] = {name: [] for name in candidates}
    for _ in range(n):  # interleaved, so that drift hits every candidate alike
        for name, fn in candidates.items():
            start = time.perf_counter_ns()
            fn()
            samples[name].append(time.perf_counter_ns() - start)
    return {"uri_length": len(uri), "samples": samples}
