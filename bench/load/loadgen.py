"""A bounded load generator for the example site: full logins, a brute force, access logs.

    python bench/load/loadgen.py login --users users.json --port P --concurrency 16 \
        --flows 2000 --seconds 60 [--bare]
    python bench/load/loadgen.py brute --users users.json --port P --target 0 \
        --clients 40 --seconds 20
    python bench/load/loadgen.py accesslog access.log --from-line N

Every run stops after a fixed number of flows or seconds, whichever comes first (a request in
flight is allowed its 30-second timeout). It only reports what the server answered: status
codes and counts, never what it expects them to mean. Standard library only (http.client,
threads), so the generator costs little CPU next to the server it shares the machine with.
"""

import argparse
import http.client
import json
import math
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pyotp

HOST = "127.0.0.1"
TIMEOUT = 30
LOGIN = "/accounts/login/"
CHALLENGE = "/mfa/challenge/"
LANDING = "/"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class FlowError(Exception):
    """The server answered something other than the next step of a sign-in."""


@dataclass
class Response:
    status: int
    location: str
    body: bytes


class Browser:
    """Cookies, a client IP (sent as X-Forwarded-For, the site trusts one proxy) and timing."""

    def __init__(self, port: int, ip: str) -> None:
        self.port = port
        self.ip = ip
        self.cookies: dict[str, str] = {}
        self.timings: list[tuple[str, float]] = []

    def request(self, label: str, method: str, path: str, form: dict | None = None) -> Response:
        headers = {"X-Forwarded-For": self.ip, "User-Agent": "mfa-loadgen"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            data = raw.read()
        finally:
            connection.close()
        self.timings.append((label, time.perf_counter() - start))
        for header in raw.headers.get_all("Set-Cookie") or []:
            self._store(header)
        return Response(raw.status, raw.headers.get("Location", ""), data)

    def _store(self, header: str) -> None:
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def form_token(self, response: Response) -> str:
        match = CSRF_INPUT.search(response.body)
        if match is None:
            raise FlowError(f"no CSRF token in a {response.status} page")
        return match.group(1).decode()


def expect(response: Response, status: int, step: str, location: str | None = None) -> None:
    if response.status != status or (location is not None and response.location != location):
        raise FlowError(f"{step}: {response.status} {response.location!r}")


def client_ip(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def password_step(browser: Browser, username: str, password: str) -> None:
    """The login form and the password; a user with a factor is then sent to the challenge."""
    page = browser.request("GET login", "GET", LOGIN)
    expect(page, 200, "GET login")
    form = {"username": username, "password": password, "csrfmiddlewaretoken": ""}
    form["csrfmiddlewaretoken"] = browser.form_token(page)
    sent = browser.request("POST login", "POST", LOGIN, form)
    if sent.location == LANDING:
        # mfa_app before the password step redirected straight to the challenge (main until
        # 2026-12-04): the landing page sent the pending login on. Kept to measure both.
        sent = browser.request("GET / (to MFA)", "GET", LANDING)
    expect(sent, 302, "POST login", CHALLENGE)


def bare_flow(port: int, n: int, username: str, password: str) -> Browser:
    """The bare site's login: the form, the password, the landing page."""
    browser = Browser(port, client_ip(n))
    page = browser.request("GET login", "GET", LOGIN)
    expect(page, 200, "GET login")
    form = {"username": username, "password": password, "csrfmiddlewaretoken": ""}
    form["csrfmiddlewaretoken"] = browser.form_token(page)
    expect(browser.request("POST login", "POST", LOGIN, form), 302, "POST login", LANDING)
    expect(browser.request("GET / (landing)", "GET", LANDING), 200, "GET / (landing)")
    return browser


def login_flow(port: int, n: int, username: str, key: str, password: str) -> Browser:
    browser = Browser(port, client_ip(n))
    password_step(browser, username, password)
    page = browser.request("GET challenge", "GET", CHALLENGE)
    expect(page, 200, "GET challenge")
    form = {"factor": "TOTP", "code": pyotp.TOTP(key).now()}
    form["csrfmiddlewaretoken"] = browser.form_token(page)
    answer = browser.request("POST challenge", "POST", CHALLENGE, form)
    expect(answer, 302, "POST challenge", LANDING)
    expect(browser.request("GET / (landing)", "GET", LANDING), 200, "GET / (landing)")
    return browser


# --- statistics -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def describe(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 0.5):7.1f}  p95 {percentile(ms, 0.95):7.1f}  "
        f"p99 {percentile(ms, 0.99):7.1f} ms  (n={len(ms)})"
    )


# --- login load -----------------------------------------------------------------------------


@dataclass
class LoginRun:
    users: list[tuple[str, str]]
    password: str
    port: int
    flows: int
    deadline: float
    bare: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_index: int = 0
    flow_times: list[float] = field(default_factory=list)
    step_times: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    done: int = 0

    def claim(self) -> int | None:
        with self.lock:
            if self.next_index >= min(self.flows, len(self.users)):
                return None
            if time.monotonic() >= self.deadline:
                return None
            self.next_index += 1
            return self.next_index - 1

    def worker(self) -> None:
        while (index := self.claim()) is not None:
            username, key = self.users[index]
            start = time.perf_counter()
            try:
                if self.bare:
                    browser = bare_flow(self.port, index + 1, username, self.password)
                else:
                    browser = login_flow(self.port, index + 1, username, key, self.password)
            except (FlowError, OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.errors[f"{type(exc).__name__}: {exc}"] += 1
                continue
            elapsed = time.perf_counter() - start
            with self.lock:
                self.done += 1
                self.flow_times.append(elapsed)
                for label, seconds in browser.timings:
                    self.step_times.setdefault(label, []).append(seconds)


def run_logins(args: argparse.Namespace) -> int:
    data = json.loads(Path(args.users).read_text())
    users = [tuple(u) for u in data["users"]]
    if args.warmup:
        warm = LoginRun(
            users[: args.warmup],
            data["password"],
            args.port,
            args.warmup,
            time.monotonic() + 60,
            args.bare,
        )
        threads = [threading.Thread(target=warm.worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"warm-up: {warm.done} flows, {sum(warm.errors.values())} errors")
        users = users[args.warmup :]
    run = LoginRun(
        users, data["password"], args.port, args.flows, time.monotonic() + args.seconds, args.bare
    )
    threads = [threading.Thread(target=run.worker) for _ in range(args.concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    errors = sum(run.errors.values())
    # One request per step of a flow (5 for the mfa site, 6 before its password step
    # redirected straight to the challenge).
    requests = len(run.step_times) or (3 if args.bare else 5)
    site = "bare site, password only" if args.bare else "mfa site, password + TOTP"
    print(
        f"\nlogins ({site}): {args.concurrency} concurrent clients, bound {args.flows} flows "
        f"or {args.seconds} s; ran {wall:.1f} s"
    )
    print(
        f"  completed flows: {run.done}   errors: {errors}   "
        f"flows/s: {run.done / wall:.1f}   requests/s: {run.done * requests / wall:.1f}"
    )
    print(f"  flow latency ({requests} requests): {describe(run.flow_times)}")
    for label, values in run.step_times.items():
        print(f"    {label:16} {describe(values)}")
    for message, count in run.errors.most_common(10):
        print(f"  error x{count}: {message}")
    return 0 if errors == 0 else 1


# --- brute force ----------------------------------------------------------------------------


@dataclass
class BruteRun:
    username: str
    key: str
    password: str
    port: int
    deadline: float
    max_answers: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: int = 0
    outcomes: Counter = field(default_factory=Counter)
    logins: Counter = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def wrong_code(self) -> str:
        totp = pyotp.TOTP(self.key)
        now = time.time()
        near = {totp.at(now + drift * 30) for drift in (-2, -1, 0, 1, 2)}
        while (code := f"{secrets.randbelow(10**6):06d}") in near:
            pass
        return code

    def keep_going(self) -> bool:
        with self.lock:
            return time.monotonic() < self.deadline and self.answers < self.max_answers

    def note(self, outcome: str) -> None:
        with self.lock:
            self.answers += 1
            self.outcomes[outcome] += 1
            self.timeline.append((time.monotonic() - self.started, outcome))

    def client(self, n: int) -> None:
        while self.keep_going():
            browser = Browser(self.port, client_ip(50_000 + n))
            try:
                password_step(browser, self.username, self.password)
                page = browser.request("GET challenge", "GET", CHALLENGE)
                with self.lock:
                    self.logins[f"challenge page {page.status}"] += 1
                if page.status != 200:
                    time.sleep(0.05)
                    continue
                token = browser.form_token(page)
                while self.keep_going():
                    form = {
                        "factor": "TOTP",
                        "code": self.wrong_code(),
                        "csrfmiddlewaretoken": token,
                    }
                    answer = browser.request("POST challenge", "POST", CHALLENGE, form)
                    outcome = classify(answer)
                    self.note(outcome)
                    if answer.status == 302:
                        break  # the pending login was dropped: sign in again
                    if CSRF_INPUT.search(answer.body):
                        token = browser.form_token(answer)
            except FlowError as exc:
                with self.lock:
                    self.logins[f"login refused: {exc}"] += 1
                time.sleep(0.05)
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.logins[f"{type(exc).__name__}"] += 1


def classify(response: Response) -> str:
    body = response.body
    if response.status == 302:
        return f"302 to {response.location}"
    if b"two-step verification is locked" in body:
        text = "locked"
    elif b"wait before you try again" in body:
        text = "wait"
    elif b"That code is not valid" in body:
        text = "wrong code"
    elif b"Too many" in body:
        text = "too many"
    else:
        text = "other"
    return f"{response.status} {text}"


def run_brute(args: argparse.Namespace) -> int:
    data = json.loads(Path(args.users).read_text())
    username, key = data["brute"][args.target]
    run = BruteRun(
        username,
        key,
        data["password"],
        args.port,
        time.monotonic() + args.seconds,
        args.max_answers,
    )
    threads = [threading.Thread(target=run.client, args=(n,)) for n in range(args.clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    print(
        f"\nbrute force on {username}: {args.clients} concurrent clients, each its own IP; "
        f"bound {args.max_answers} answers or {args.seconds} s; ran {wall:.1f} s"
    )
    print(f"  wrong codes posted: {run.answers}")
    for outcome, count in sorted(run.outcomes.items()):
        print(f"    {outcome:40} {count}")
    checked = run.outcomes.get("400 wrong code", 0)
    print(f"  answers the server checked and refused as wrong (400 'not valid'): {checked}")
    first_refusal = next((t for t, o in run.timeline if o.startswith("429")), None)
    if first_refusal is not None:
        print(
            f"  first 429 after {first_refusal:.2f} s; answers checked after it: "
            f"{sum(1 for t, o in run.timeline if t > first_refusal and o == '400 wrong code')}"
        )
    print("  sign-ins:")
    for outcome, count in run.logins.most_common():
        print(f"    {outcome:40} {count}")
    return 0


# --- gunicorn access log --------------------------------------------------------------------

ACCESS = re.compile(r'^<(\d+)> "(\S+) (\S+) [^"]*" (\d+) (\d+)')  # %(p)s is "<pid>"


def run_accesslog(args: argparse.Namespace) -> int:
    """Requests per gunicorn worker (pid) from ``--from-line`` on: proof of the spread."""
    lines = Path(args.file).read_text().splitlines()[args.from_line :]
    per_pid: Counter = Counter()
    per_pid_status: dict[str, Counter] = {}
    for line in lines:
        match = ACCESS.match(line)
        if not match:
            continue
        pid, method, path, status, _ms = match.groups()
        if args.path and not (method == "POST" and path.startswith(args.path)):
            continue
        per_pid[pid] += 1
        per_pid_status.setdefault(pid, Counter())[status] += 1
    what = f"POST {args.path}" if args.path else "requests"
    print(f"  {what} per gunicorn worker (pid: count, by status):")
    for pid, count in sorted(per_pid.items()):
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(per_pid_status[pid].items()))
        print(f"    {pid}: {count}  ({statuses})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login")
    login.add_argument("--users", required=True)
    login.add_argument("--port", type=int, required=True)
    login.add_argument("--concurrency", type=int, default=16)
    login.add_argument("--flows", type=int, default=2000)
    login.add_argument("--seconds", type=float, default=60)
    login.add_argument("--warmup", type=int, default=32)
    login.add_argument("--bare", action="store_true", help="the bare site: no MFA step")
    brute = sub.add_parser("brute")
    brute.add_argument("--users", required=True)
    brute.add_argument("--port", type=int, required=True)
    brute.add_argument("--target", type=int, default=0)
    brute.add_argument("--clients", type=int, default=40)
    brute.add_argument("--seconds", type=float, default=20)
    brute.add_argument("--max-answers", type=int, default=2000)
    log = sub.add_parser("accesslog")
    log.add_argument("file")
    log.add_argument("--from-line", type=int, default=0)
    log.add_argument("--path", default="")
    args = parser.parse_args()
    return {"login": run_logins, "brute": run_brute, "accesslog": run_accesslog}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
