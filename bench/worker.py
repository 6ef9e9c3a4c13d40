"""One benchmarked site in its own process, driven by ``bench/run.py`` over stdin/stdout.

Started as ``python -m bench.worker`` (from the repository root) with
``DJANGO_SETTINGS_MODULE`` (``bench.settings``, ``bench.bare_settings`` or a peer's,
``bench.peers.*_settings``), ``SQLITE_PATH`` (a fresh file) and ``BENCH_HASHER`` in its
environment. It reads one JSON command a line and answers each with one JSON line; anything
else the site prints goes to stderr. The scenarios are those of the settings'
``BENCH_SCENARIOS`` module (a peer site's own), ``bench.scenarios`` by default.
"""

import importlib
import json
import os
import sys
import traceback

PROTOCOL = sys.stdout
sys.stdout = sys.stderr  # the console email backend, print() in views...

if os.environ.get("BENCH_CPU"):
    # Every site on the same core: they take turns on it, in the same conditions.
    os.sched_setaffinity(0, {int(os.environ["BENCH_CPU"])})

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

scenarios = importlib.import_module(getattr(settings, "BENCH_SCENARIOS", "bench.scenarios"))


def handle(command: dict) -> dict:
    op = command.pop("op")
    if op == "setup":
        return scenarios.setup(**command)
    if op == "run":
        return scenarios.run(**command)
    if op == "queries":
        return scenarios.queries(**command)
    if op == "ab" and hasattr(scenarios, "middleware_ab"):
        return scenarios.middleware_ab(**command)
    if op == "qr" and hasattr(scenarios, "qr"):
        return scenarios.qr(**command)
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command.get("op") == "quit":
            break
        try:
            answer = {"ok": True, "result": handle(command)}
        except Exception as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
        PROTOCOL.write(json.dumps(answer) + "\n")
        PROTOCOL.flush()


if __name__ == "__main__":
    main()
