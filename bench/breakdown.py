"""Where the time of one request goes: inclusive time of named functions, per request.

    .venv/bin/python bench/breakdown.py [S2|S3|S5] [-n 150]

One process, the mfa site (``bench.settings``) on a fresh SQLite file in /dev/shm. Each
function below is wrapped wherever mfa_app or Django holds a reference to it; its time is
summed per timed request (or flow, for S3) and the median is printed, with its share of the
median request. Times nest (``verify_challenge`` includes ``reserve_attempt``). A name that
no longer exists is skipped, so the list survives refactoring.
"""

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.shared_cache import throwaway_redis  # noqa: E402

TARGETS = [
    "django.contrib.sessions.backends.db.SessionStore.load",
    "mfa_app.flows.signin.pending_user",
    "mfa_app.policy.policy_for",
    "mfa_app.services.status.challenge_methods",
    "mfa_app.services.status.challenge_factor_types",
    "mfa_app.services.decisions.decide",
    "mfa_app.services.challenges.start_challenge",
    "mfa_app.services.challenges.begin_challenge",
    "mfa_app.services.challenges.verify_challenge",
    "mfa_app.throttle.hit_for_ip",
    "mfa_app.lockout.reserve_attempt",
    "mfa_app.factors.totp.TOTP.verify",
    "mfa_app.factors.recovery.Recovery.verify",
    "mfa_app.lockout.attempt_succeeded",
    "mfa_app.events.record",
    "mfa_app.flows.signin.complete",
    "django.contrib.auth.login",
    "mfa_app.services.decisions.note_mfa_passed",
    "mfa_app.risk.record_login",
    "django.template.response.SimpleTemplateResponse.render",
    "django.shortcuts.render",
    "django.contrib.sessions.backends.db.SessionStore.save",
    "mfa_app.services.challenges._passed",
    "mfa_app.login_state.log_in",
    "mfa_app.flows.signin._record_epoch",
    "mfa_app.flows.passkey_offer.after_password_sign_in",
    "mfa_app.devices.browser_token",
    "mfa_app.risk.location_of",
    "mfa_app.models.LoginRecord.objects.create",
    "django.db.transaction.Atomic.__exit__",
    "django.db.backends.base.base.BaseDatabaseWrapper.run_and_clear_commit_hooks",
    "django.contrib.auth.models.update_last_login",
    "django.contrib.sessions.backends.base.SessionBase.cycle_key",
    "mfa_app.middleware._straight_to_mfa",
    "mfa_app.devices.set_cookie_if_new",
    "mfa_app.flows.signin.signed_out_elsewhere",
    "mfa_app.notifications.deliver",
    "mfa_app.notifications.queued_notification",
    "mfa_app.services.recovery_codes.recovery_code_spent",
    "mfa_app.services.status.recovery_codes_remaining",
    "mfa_app.views.confirmations.signed_in_with_recovery_code",
]

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def wrap(path: str) -> bool:
    from importlib import import_module

    module_path, _, name = path.rpartition(".")
    owner = None
    try:
        owner = import_module(module_path)
    except ImportError:
        parent, _, cls = module_path.rpartition(".")
        try:
            owner = getattr(import_module(parent), cls)
        except (ImportError, AttributeError):
            return False
    original = getattr(owner, name, None)
    if original is None:
        return False

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[path] += time.perf_counter() - start
            CALLS[path] += 1

    setattr(owner, name, timed)
    if isinstance(owner, type):
        return True
    # Modules that imported the function by name hold their own reference.
    for module in list(sys.modules.values()):
        module_name = getattr(module, "__name__", "")
        if not module_name.startswith(("mfa_app", "django", "example_project")):
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, timed)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="S2", choices=["S2", "S3", "S5"])
    parser.add_argument("-n", type=int, default=150)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="mfa-breakdown-", dir="/dev/shm")
    try:
        with throwaway_redis(Path(data_dir)) as cache:
            print(f"mfa_app's shared cache: {cache}")
            run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace, data_dir: str) -> None:
    os.environ["SQLITE_PATH"] = f"{data_dir}/db.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench import scenarios

    warmup = 20
    kind = "recovery" if args.scenario == "S5" else "totp"
    scenarios.setup({kind: args.n + warmup + 5})
    prepare, timed = scenarios.SCENARIOS[args.scenario]()
    for _ in range(warmup):
        timed(prepare())
    wrapped = [t for t in TARGETS if wrap(t)]
    totals, per_function = [], defaultdict(list)
    calls = defaultdict(list)
    for _ in range(args.n):
        state = prepare()
        TIMES.clear()
        CALLS.clear()
        start = time.perf_counter()
        timed(state)
        totals.append(time.perf_counter() - start)
        for t in wrapped:
            per_function[t].append(TIMES.get(t, 0.0))
            calls[t].append(CALLS.get(t, 0))
    total = statistics.median(totals) * 1000
    print(f"{args.scenario}: median {total:.2f} ms over {args.n} (functions wrapped: timing")
    print("includes the wrappers' own small cost); inclusive time, nested\n")
    print(f"{'function':62} {'calls':>5} {'median ms':>9} {'share':>6}")
    for t in wrapped:
        ms = statistics.median(per_function[t]) * 1000
        if max(calls[t]) == 0:
            continue
        print(f"{t:62} {statistics.median(calls[t]):5.0f} {ms:9.2f} {ms / total:6.0%}")


if __name__ == "__main__":
    main()
