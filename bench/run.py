"""Run the in-process benchmarks (S1-S6) against mfa_app and a bare Django site; print figures.

    .venv/bin/python bench/run.py [--quick] [--only S1,S2] [--sql] [--json out.json] [--peers]

Each site runs in its own process (``bench/worker.py``) on its own fresh SQLite file; rounds
of the sites alternate so that drift on the machine hits them alike. ``--peers`` adds two
peers, django-two-factor-auth and allauth.mfa, as sites of their own (``bench/peers/``, run
by the peers' virtualenv's Python) to S1, S2, S3 and S5. Nothing here asserts anything: it
prints medians, p95s, queries and ratios against the targets (bench/README.md).
"""

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.shared_cache import throwaway_redis  # noqa: E402

PYTHON = sys.executable
PEERS_VENV_PYTHON = ROOT / "bench" / ".peers-venv" / "bin" / "python"
# The peers, each a site in its own process: name -> settings module.
PEERS = {
    "two_factor": "bench.peers.two_factor_settings",
    "allauth": "bench.peers.allauth_settings",
}
PEER_SCENARIOS = ("S1", "S2", "S3", "S5")


@dataclass(frozen=True)
class Plan:
    rounds: int
    n: int
    warmup: int


FULL = {
    "S1": Plan(30, 100, 10),
    "S1ab": Plan(1, 3000, 100),
    "S2": Plan(4, 100, 10),
    "S3": Plan(4, 60, 5),
    "S3p": Plan(2, 5, 1),
    "S4": Plan(3, 40, 3),
    "QR": Plan(1, 150, 0),
    "S5": Plan(3, 80, 5),
}
QUICK = {
    "S1": Plan(8, 60, 10),
    "S1ab": Plan(1, 600, 50),
    "S2": Plan(2, 40, 5),
    "S3": Plan(2, 25, 3),
    "S3p": Plan(1, 3, 1),
    "S4": Plan(2, 15, 2),
    "QR": Plan(1, 40, 0),
    "S5": Plan(2, 30, 3),
}
QUERY_REPEAT = 3
ALL = ("S1", "S2", "S3", "S4", "S5", "S6")


class Worker:
    """A site in a subprocess: one JSON command in, one JSON answer out."""

    def __init__(
        self,
        name: str,
        settings: str,
        db_dir: Path,
        hasher: str = "md5",
        cpu: int | None = None,
        python: str = PYTHON,
    ) -> None:
        self.name = name
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "SQLITE_PATH": str(db_dir / f"{name}.sqlite3"),
            "BENCH_HASHER": hasher,
            "PYTHONHASHSEED": "0",
        }
        if cpu is not None:
            env["BENCH_CPU"] = str(cpu)
        env.pop("MFA_DB", None)
        self.log = open(db_dir / f"{name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 (our own worker, fixed arguments)
            [python, "-m", "bench.worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def send(self, op: str, **kwargs: Any) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> Any:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"worker {self.name} died: see {self.log.name}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise SystemExit(f"worker {self.name}: {answer['error']} (log: {self.log.name})")
        return answer["result"]

    def call(self, op: str, **kwargs: Any) -> Any:
        self.send(op, **kwargs)
        return self.receive()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- statistics ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ms(ns_values: list[int]) -> list[float]:
    return [v / 1e6 for v in ns_values]


# --- the run ------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = QUICK if args.quick else FULL
        self.only = set(args.only.split(",")) if args.only else set(ALL)
        self.background = (
            args.users if args.users is not None else (100_000 if args.quick else 1_000_000)
        )
        self.samples: dict[str, list[float]] = {}
        self.steps: dict[str, dict[str, list[float]]] = {}
        self.queries: dict[str, Any] = {}
        self.setup_info: dict[str, Any] = {}
        self.qr: dict[str, list[float]] = {}
        self.workers: dict[str, Worker] = {}
        wanted = any(self.wants(scenario) for scenario in PEER_SCENARIOS)
        self.peers: tuple[str, ...] = tuple(PEERS) if args.peers and wanted else ()

    def wants(self, scenario: str) -> bool:
        return scenario in self.only

    def need(self, scenario: str, count: int = 1) -> int:
        plan = self.plan[scenario]
        return plan.rounds * (plan.n + plan.warmup) * count

    def start(self, db_dir: Path) -> None:
        q = QUERY_REPEAT + 1
        s1_logins = (self.plan["S1"].rounds + 2) * 2 if self.wants("S1") else 0
        s2 = self.need("S2") + q if self.wants("S2") else 0
        s3 = self.need("S3") + q if self.wants("S3") else 0
        s5 = self.need("S5") + q if self.wants("S5") else 0
        s4 = self.plan["S4"].rounds + 2 if self.wants("S4") else 0
        margin = 5
        specs = {
            "mfa": (
                "bench.settings",
                "md5",
                {
                    "totp": s1_logins + s2 + s3 + margin,
                    "recovery": s5 + margin,
                    "plain": s4 + margin,
                },
            ),
            "bare": ("bench.bare_settings", "md5", {"totp": s1_logins + s3 + margin}),
        }
        if self.wants("S3") and not self.args.no_pbkdf2:
            n = self.need("S3p") + margin
            specs["mfa_pbkdf2"] = ("bench.settings", "pbkdf2", {"totp": n})
            specs["bare_pbkdf2"] = ("bench.bare_settings", "pbkdf2", {"totp": n})
        if self.wants("S6"):
            specs["mfa_1m"] = ("bench.settings", "md5", {"totp": self.need("S2") + q + margin})
        peer_pool = {
            "totp": s1_logins + s2 + s3 + margin,
            "recovery": s5 + margin,
        }
        for peer in self.peers:
            specs[peer] = (PEERS[peer], "md5", peer_pool)
        for name, (settings, hasher, _) in specs.items():
            python = self.args.peers_python if name in self.peers else PYTHON
            self.workers[name] = Worker(name, settings, db_dir, hasher, self.args.cpu, python)
        # Setups run side by side (the million users take longest); measuring starts after.
        for name, (_, _, pool) in specs.items():
            background = self.background if name == "mfa_1m" else 0
            self.workers[name].send("setup", pool=pool, background_users=background)
        for name, worker in self.workers.items():
            self.setup_info[name] = worker.receive()
            print(f"  setup {name}: {self.setup_info[name]}", flush=True)

    def measure(self, key: str, worker: str, scenario: str, plan: Plan) -> None:
        result = self.workers[worker].call("run", scenario=scenario, n=plan.n, warmup=plan.warmup)
        self.samples.setdefault(key, []).extend(ms(result["samples"]))
        for step, values in result["steps"].items():
            self.steps.setdefault(key, {}).setdefault(step, []).extend(ms(values))

    def alternate(self, plan: Plan, runs: list[tuple[str, str, str]]) -> None:
        """``plan.rounds`` rounds; each runs every (key, worker, scenario) once, in turn."""
        for r in range(plan.rounds):
            order = runs if r % 2 == 0 else list(reversed(runs))
            for key, worker, scenario in order:
                self.measure(key, worker, scenario, plan)

    def count_queries(self, key: str, worker: str, scenario: str) -> None:
        self.queries[key] = self.workers[worker].call(
            "queries", scenario=scenario, repeat=QUERY_REPEAT
        )

    def run(self) -> None:
        p = self.plan
        if self.wants("S1"):
            print("S1: verified request", flush=True)
            for url_key in ("S1", "S1b"):
                sites = ["bare", "mfa", *(self.peers if url_key == "S1" else ())]
                runs = [(f"{url_key} {site}", site, url_key) for site in sites]
                self.alternate(p["S1"], runs)
                for key, worker, scenario in runs:
                    self.count_queries(key, worker, scenario)
                plan = p["S1ab"]
                result = self.workers["mfa"].call(
                    "ab", scenario=url_key, n=plan.n, warmup=plan.warmup
                )
                for site, values in result["samples"].items():
                    self.samples[f"{url_key} A/B {site}"] = ms(values)
        if self.wants("S2") or self.wants("S6"):
            print("S2/S6: TOTP verify POST (S6: among a million users)", flush=True)
            runs = []
            if self.wants("S2"):
                runs.append(("S2 mfa", "mfa", "S2"))
                runs += [(f"S2 {peer}", peer, "S2") for peer in self.peers]
            if self.wants("S6"):
                runs.append(("S6 mfa", "mfa_1m", "S6"))
            self.alternate(p["S2"], runs)
            for key, worker, scenario in runs:
                self.count_queries(key, worker, scenario)
        if self.wants("S3"):
            print("S3: full login", flush=True)
            runs = [(f"S3 {site}", site, "S3") for site in ("bare", "mfa", *self.peers)]
            self.alternate(p["S3"], runs)
            for key, worker, scenario in runs:
                self.count_queries(key, worker, scenario)
            if "mfa_pbkdf2" in self.workers:
                print("S3: full login, PBKDF2", flush=True)
                self.alternate(
                    p["S3p"], [("S3p bare", "bare_pbkdf2", "S3"), ("S3p mfa", "mfa_pbkdf2", "S3")]
                )
        if self.wants("S4"):
            print("S4: enrollment page with QR code", flush=True)
            self.alternate(p["S4"], [("S4 mfa", "mfa", "S4")])
            self.count_queries("S4 mfa", "mfa", "S4")
            result = self.workers["mfa"].call("qr", n=p["QR"].n)
            self.qr = {name: ms(values) for name, values in result["samples"].items()}
            self.qr_uri_length = result["uri_length"]
        if self.wants("S5"):
            print("S5: recovery code POST", flush=True)
            runs = [(f"S5 {site}", site, "S5") for site in ("mfa", *self.peers)]
            self.alternate(p["S5"], runs)
            for key, worker, scenario in runs:
                self.count_queries(key, worker, scenario)

    # --- report ---------------------------------------------------------------------------

    def med(self, key: str) -> float:
        return median(self.samples[key])

    def qcount(self, key: str) -> str:
        if key not in self.queries:
            return "-"
        # Several values (a/b): the count differed between the counted iterations.
        statements, writes, commits = (
            self.qfield(key, field) for field in ("statements", "writes", "commits")
        )
        return f"{statements} ({writes}; {commits})"

    def q(self, key: str, field: str = "statements") -> int:
        return max(c[field] for c in self.queries[key]["per_iteration"])

    def rows(self) -> list[tuple[str, ...]]:
        rows = []

        def row(name: str, key: str, ratio: str = "", target: str = "", met: str = "") -> None:
            values = self.samples[key]
            rows.append(
                (
                    name,
                    f"{median(values):.2f}",
                    f"{p95(values):.2f}",
                    self.qcount(key),
                    ratio,
                    target,
                    met,
                )
            )

        yes = lambda ok: "yes" if ok else "NO"  # noqa: E731
        for url_key, url in (("S1", "/private/"), ("S1b", "/api/me/")):
            if f"{url_key} mfa" in self.samples:
                ratio = self.med(f"{url_key} mfa") / self.med(f"{url_key} bare")
                extra = self.q(f"{url_key} mfa") - self.q(f"{url_key} bare")
                row(f"{url_key} bare: GET {url}", f"{url_key} bare")
                row(
                    f"{url_key} verified: GET {url}",
                    f"{url_key} mfa",
                    f"{ratio:.3f}x, +{extra} q",
                    "<=1.03x, +0 q",
                    yes(ratio <= 1.03 and extra <= 0),
                )
            if f"{url_key} A/B mfa" in self.samples:
                ratio = self.med(f"{url_key} A/B mfa") / self.med(f"{url_key} A/B bare")
                rows.append((f"{url_key} A/B, one process: {url}", "", "", "", "", "", ""))
                row("  without MFAMiddleware", f"{url_key} A/B bare")
                row(
                    "  with MFAMiddleware",
                    f"{url_key} A/B mfa",
                    f"{ratio:.3f}x",
                    "<=1.03x",
                    yes(ratio <= 1.03),
                )
        if "S2 mfa" in self.samples:
            n, commits = self.q("S2 mfa"), self.q("S2 mfa", "commits")
            row(
                "S2 TOTP verify POST",
                "S2 mfa",
                "",
                "<=12 q, <=3 commits",
                yes(n <= 12 and commits <= 3),
            )
        for key, label in (("S3", "MD5"), ("S3p", "PBKDF2")):
            if f"{key} mfa" in self.samples:
                ratio = self.med(f"{key} mfa") / self.med(f"{key} bare")
                row(
                    f"{key} bare: password login ({label})",
                    f"{key} bare",
                    f"{1000 / self.med(f'{key} bare'):.0f} flows/s",
                )
                row(
                    f"{key} full login, password+TOTP ({label})",
                    f"{key} mfa",
                    f"{ratio:.2f}x ({1000 / self.med(f'{key} mfa'):.0f} flows/s)",
                    "<=2x bare",
                    yes(ratio <= 2),
                )
        if "S4 mfa" in self.samples:
            ratio = median(self.qr["ours"]) / median(self.qr["peers"])
            row(
                "S4 enrollment page with QR",
                "S4 mfa",
                f"QR {median(self.qr['ours']):.1f} ms",
                "",
                "",
            )
            for name, label in (
                ("ours", "S4 QR: mfa_app.qr.qr_svg"),
                ("peers", "S4 QR: qrcode SvgPathImage"),
                ("matrix", "S4 QR: QRCode.make(fit) only"),
                ("fixed_mask", "S4 QR: same, mask_pattern=0"),
            ):
                values = self.qr[name]
                is_ours = name == "ours"
                rows.append(
                    (
                        label,
                        f"{median(values):.2f}",
                        f"{p95(values):.2f}",
                        "-",
                        f"{median(values) / median(self.qr['peers']):.2f}x peers",
                        "<=0.5x peers" if is_ours else "",
                        yes(ratio <= 0.5) if is_ours else "",
                    )
                )
        if "S5 mfa" in self.samples:
            row("S5 recovery code POST", "S5 mfa")
        if "S6 mfa" in self.samples and "S2 mfa" in self.samples:
            ratio = self.med("S6 mfa") / self.med("S2 mfa")
            row(
                f"S6 S2 among {self.background:,} users",
                "S6 mfa",
                f"{ratio:.3f}x S2",
                "<=1.1x S2",
                yes(ratio <= 1.1),
            )
        return rows

    def report(self) -> None:
        head = (
            "scenario",
            "median ms",
            "p95 ms",
            "queries (writes; commits)",
            "ratio",
            "target",
            "met?",
        )
        print()
        print_table(head, self.rows())
        if self.peers:
            self.report_peers()
        print("\nSamples per row: " + ", ".join(f"{k}={len(v)}" for k, v in self.samples.items()))
        if self.steps:
            print("\nS3 per step, median ms:")
            for key, steps in self.steps.items():
                parts = ", ".join(f"{name} {median(v):.2f}" for name, v in steps.items())
                print(f"  {key}: {parts}")
        if self.queries:
            print(
                "\nQueries per iteration (statements without BEGIN/COMMIT/SAVEPOINT; "
                "django = on django_session/auth_user):"
            )
            for key, data in self.queries.items():
                c = data["per_iteration"][-1]
                print(
                    f"  {key}: {c['statements']} statements ({c['writes']} writes); "
                    f"django {c['django_tables']}, mfa_app/site {c['other_tables']} "
                    f"({c['other_writes']} writes); +{c['tx_control']} transaction control; "
                    f"{c['commits']} commits"
                )
        if self.args.sql:
            for key, data in self.queries.items():
                print(f"\n--- SQL, {key} (one iteration) ---")
                for i, sql in enumerate(data["sql"], 1):
                    print(f"  {i:2}. {shorten(sql)}")

    # --- peers ----------------------------------------------------------------------------

    def peer_scenarios(self) -> list[tuple[str, str]]:
        labels = {
            "S1": "S1 verified GET /private/",
            "S2": "S2 TOTP answer POST",
            "S3": "S3 password + TOTP, whole sign-in",
            "S5": "S5 recovery code POST",
        }
        return [
            (scenario, label)
            for scenario, label in labels.items()
            if any(f"{scenario} {peer}" in self.samples for peer in self.peers)
        ]

    def fastest_peer(self, scenario: str) -> tuple[str, float]:
        medians = {peer: self.med(f"{scenario} {peer}") for peer in self.peers}
        peer = min(medians, key=medians.__getitem__)
        return peer, medians[peer]

    def requests(self, key: str) -> str:
        """S3's requests per sign-in (its timed steps); one for the other scenarios."""
        return str(len(self.steps[key])) if key in self.steps else "1"

    def report_peers(self) -> None:
        versions = {
            peer: ", ".join(f"{k} {v}" for k, v in self.setup_info[peer]["versions"].items())
            for peer in self.peers
        }
        print(
            f"\nPeers (each its own process and SQLite file, MD5; Python {self.args.peers_python}):"
        )
        for peer, text in versions.items():
            print(f"  {peer}: {text}")
        head = (
            "scenario",
            "site",
            "median ms",
            "p95 ms",
            "statements",
            "writes",
            "commits",
            "requests",
            "vs fastest peer",
        )
        rows = []
        for scenario, label in self.peer_scenarios():
            _, fastest = self.fastest_peer(scenario)
            sites = [
                site
                for site in ("bare", "mfa", *self.peers)
                if f"{scenario} {site}" in self.samples
            ]
            for i, site in enumerate(sites):
                key = f"{scenario} {site}"
                values = self.samples[key]
                counts = [
                    self.qfield(key, field) if key in self.queries else "-"
                    for field in ("statements", "writes", "commits")
                ]
                rows.append(
                    (
                        label if i == 0 else "",
                        site,
                        f"{median(values):.2f}",
                        f"{p95(values):.2f}",
                        *counts,
                        self.requests(key),
                        f"{median(values) / fastest:.2f}x",
                    )
                )
        print()
        print_table(head, rows)

        yes = lambda ok: "yes" if ok else "NO"  # noqa: E731
        targets = []
        if "S1 mfa" in self.samples:
            ratio = self.med("S1 mfa") / self.med("S1 bare")
            targets.append(
                ("S1 verified GET, mfa vs bare", "<=1.03x", f"{ratio:.3f}x", ratio <= 1.03)
            )
        for scenario, label in self.peer_scenarios():
            if scenario == "S1" or f"{scenario} mfa" not in self.samples:
                continue
            peer, fastest = self.fastest_peer(scenario)
            ours = self.med(f"{scenario} mfa")
            targets.append(
                (
                    f"{label}: mfa median vs fastest peer ({peer})",
                    f"<={fastest:.2f} ms",
                    f"{ours:.2f} ms ({ours / fastest:.2f}x)",
                    ours <= fastest,
                )
            )
        if "S2 mfa" in self.queries:
            n, commits = self.q("S2 mfa"), self.q("S2 mfa", "commits")
            targets.append(("S2 statements (mfa)", "<=12", str(n), n <= 12))
            targets.append(("S2 commits (mfa)", "<=3", str(commits), commits <= 3))
        if "S6 mfa" in self.samples and "S2 mfa" in self.samples:
            ratio = self.med("S6 mfa") / self.med("S2 mfa")
            targets.append(
                (f"S6/S2 among {self.background:,} users", "<=1.1", f"{ratio:.3f}", ratio <= 1.1)
            )
        print()
        print_table(
            ("target (issue 13)", "wanted", "measured", "met?"),
            [(name, want, got, yes(ok)) for name, want, got, ok in targets],
        )

    def qfield(self, key: str, field: str) -> str:
        """One count of every counted iteration of ``key``: "11", or "11/12" if they differ."""
        return "/".join(map(str, sorted({c[field] for c in self.queries[key]["per_iteration"]})))

    def dump(self, path: str) -> None:
        data = {
            "meta": machine(),
            "setup": self.setup_info,
            "samples_ms": self.samples,
            "steps_ms": self.steps,
            "queries": self.queries,
            "qr_ms": self.qr,
        }
        Path(path).write_text(json.dumps(data, indent=1))


def print_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def peers_python_ok(python: str) -> str:
    """Why ``python`` cannot run the peer sites, or "" if it can."""
    check = "import django_otp, two_factor, formtools, allauth.mfa, pyotp, qrcode"
    try:
        out = subprocess.run(  # noqa: S603 (an interpreter the user named; fixed code)
            [python, "-c", check], capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        return str(exc)
    return out.stderr.strip().splitlines()[-1] if out.returncode else ""


def shorten(sql: str, width: int = 200) -> str:
    """The statement with long column lists folded, cut to ``width`` characters."""
    upper = sql.upper()
    if upper.startswith("SELECT") and " FROM " in upper:
        cut = upper.index(" FROM ")
        columns = sql[7:cut]
        if len(columns) > 40:
            sql = f"SELECT {columns[:30]}...{sql[cut:]}"
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    import django
    import qrcode  # noqa: F401

    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    commit = _git("rev-parse", "HEAD")
    dirty = _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "qrcode": version("qrcode"),
        "commit": commit,
        "uncommitted_files": len(dirty.splitlines()) if dirty else 0,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def filesystem(path: Path) -> str:
    """The type of the filesystem ``path`` is on, from /proc/mounts."""
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            mount_point, fs_type = line.split()[1:3]
            if str(path).startswith(mount_point) and len(mount_point) > len(best):
                best, kind = mount_point, fs_type
    return kind


def _git(*args: str) -> str:
    try:
        out = subprocess.run(  # noqa: S603 (read-only git commands)
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, 100,000 users")
    parser.add_argument("--only", help="comma-separated scenarios (S1..S6)")
    parser.add_argument("--users", type=int, help="S6's background users (default 1,000,000)")
    parser.add_argument("--no-pbkdf2", action="store_true", help="skip S3 with PBKDF2")
    parser.add_argument("--sql", action="store_true", help="print each scenario's SQL")
    parser.add_argument("--json", help="also write every sample and query to this file")
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin every site's process to this CPU"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run django-two-factor-auth and allauth.mfa as sites (S1, S2, S3, S5)",
    )
    parser.add_argument(
        "--peers-python",
        default=str(PEERS_VENV_PYTHON) if PEERS_VENV_PYTHON.exists() else PYTHON,
        help="the Python that has the peers installed (default: bench/.peers-venv's, "
        "made by `make bench PEERS=1`, else this one)",
    )
    parser.add_argument(
        "--data-dir",
        default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,  # noqa: S108
        help="where the SQLite files go (default /dev/shm: RAM, so that no run waits on this "
        "machine's disk flushes; give a disk directory to count them in)",
    )
    args = parser.parse_args()
    if args.peers and (why := peers_python_ok(args.peers_python)):
        raise SystemExit(
            f"--peers: {args.peers_python} cannot run the peer sites ({why}); "
            "`make bench PEERS=1` installs them (bench/README.md)"
        )

    meta = machine()
    print(
        f"mfa_app bench: commit {meta['commit'][:12]} "
        f"({meta['uncommitted_files']} tracked files modified), {meta['date']}"
    )
    print(
        f"{meta['cpu']}, {meta['cores']} cores, {meta['ram_gb']} GB; Python {meta['python']}, "
        f"Django {meta['django']}, SQLite {meta['sqlite']}, qrcode {meta['qrcode']}"
    )
    print(
        f"mode: {'quick' if args.quick else 'full'}; password hasher MD5 (S3 also PBKDF2); "
        f"load average before: {loadavg()}"
    )
    started = time.perf_counter()
    db_dir = Path(tempfile.mkdtemp(prefix="mfa-bench-", dir=args.data_dir))
    print(f"databases in {db_dir} ({filesystem(db_dir)})")
    bench = Bench(args)
    try:
        with throwaway_redis(db_dir) as cache:
            print(f"mfa_app's shared cache: {cache}")
            try:
                bench.start(db_dir)
                bench.run()
            finally:
                for worker in bench.workers.values():
                    worker.close()
    finally:
        if args.keep:
            print(f"databases and logs kept in {db_dir}")
        else:
            shutil.rmtree(db_dir, ignore_errors=True)
    print(f"load average after: {loadavg()} (other work on the machine skews the figures)")
    bench.report()
    if args.json:
        bench.dump(args.json)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
