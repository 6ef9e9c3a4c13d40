"""S1, S2, S3 and S5 on a peer site, each the way that peer's own documented flow goes.

A peer's module (``two_factor_scenarios``, ``allauth_scenarios``) describes its sign-in as a
:class:`Site`: how the password step is posted, how a TOTP code and a recovery code are
answered, which requests a browser makes, and how its own code creates the factors. The loops,
the timing, the query counting and the user pools are ``bench.scenarios``' own, so a peer is
measured exactly as mfa_app and the bare site are.
"""

import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from bench import scenarios as base
from bench.scenarios import PASSWORD, STATE, PoolUser, Prepared, _expect, client_for, take

PRIVATE_URL = "/private/"


class Site:
    """One peer's sign-in. Every method checks the answer it expects (``_expect``): a run
    whose requests went wrong would measure nothing."""

    packages: tuple[str, ...] = ()

    def landing(self) -> str:
        from django.shortcuts import resolve_url

        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def factors(self, kind: str, users: list[Any]) -> list[tuple[str, list[str]]]:
        """Create ``users``' factors with the peer's own models; each user's base32 TOTP
        secret and recovery codes. ``kind``: ``totp``, or ``recovery`` (TOTP and codes)."""
        raise NotImplementedError

    def password(self, client: Client, user: PoolUser) -> None:
        """The password step (untimed), up to where the peer asks for the second factor."""
        raise NotImplementedError

    def totp(self, client: Client, code: str) -> None:
        raise NotImplementedError

    def before_recovery(self, client: Client) -> None:
        """What a browser does between the password step and typing a recovery code."""

    def recovery(self, client: Client, code: str) -> None:
        raise NotImplementedError

    def browser(self, step: Callable[..., Any], user: PoolUser) -> None:
        """S3: every request of a browser's sign-in, through ``step(label, method, url,
        data)``, which times each and returns its response."""
        raise NotImplementedError

    def sign_in(self, client: Client, user: PoolUser) -> None:
        self.password(client, user)
        self.totp(client, lasting_code(user))


def lasting_code(user: PoolUser) -> str:
    """The user's TOTP code, at least a second before its 30-second step ends: allauth takes
    the current step's code only (``MFA_TOTP_TOLERANCE`` 0), and a code read in an untimed
    ``prepare`` and posted after the step turned would fail the run."""
    left = 30 - time.time() % 30
    if left < 1:
        time.sleep(left)
    return base.totp_code(user)


SITE: Site


def use(site: Site) -> None:
    global SITE
    SITE = site


# --- setup ------------------------------------------------------------------------------------


def setup(pool: dict[str, int], background_users: int = 0, seed: int = 1) -> dict[str, Any]:
    if background_users:
        raise ValueError("peer sites have no S6 (background users)")
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter()
    encoded = make_password(PASSWORD)
    user_model = get_user_model()
    offset = 0
    for kind, count in pool.items():
        with transaction.atomic():
            users = user_model.objects.bulk_create(
                user_model(username=f"{kind}{i}", email=f"{kind}{i}@example.com", password=encoded)
                for i in range(count)
            )
            made = SITE.factors(kind, users)
        STATE.pools[kind] = iter(
            PoolUser(u.username, key, base._ip(offset + i + 1), codes)
            for i, (u, (key, codes)) in enumerate(zip(users, made, strict=True))
        )
        STATE.sizes[kind] = count
        offset += count
    return {
        "migrate_s": round(migrated - started, 2),
        "setup_s": round(time.perf_counter() - started, 1),
        "users": user_model.objects.count(),
        "versions": versions(("Django", *SITE.packages)),
    }


def versions(packages: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


# --- scenarios --------------------------------------------------------------------------------


def s1() -> Prepared:
    user = take("totp")
    client = client_for(user)
    SITE.sign_in(client, user)
    _expect(client.get(PRIVATE_URL), 200, f"GET {PRIVATE_URL}")

    def timed(_: Any) -> None:
        response = client.get(PRIVATE_URL)
        if response.status_code != 200:
            raise base.BenchError(f"GET {PRIVATE_URL}: {response.status_code}")

    return (lambda: None), timed


def s2() -> Prepared:
    def prepare() -> tuple[Client, str]:
        user = take("totp")
        client = client_for(user)
        SITE.password(client, user)
        return client, lasting_code(user)

    def timed(state: tuple[Client, str]) -> None:
        SITE.totp(*state)

    return prepare, timed


def s3() -> Prepared:
    def timed(user: PoolUser) -> dict[str, int]:
        client = client_for(user)
        steps: dict[str, int] = {}

        def step(label: str, method: str, url: str, data: Any = None) -> Any:
            start = time.perf_counter_ns()
            response = getattr(client, method)(url, data)
            steps[label] = time.perf_counter_ns() - start
            return response

        SITE.browser(step, user)
        return steps

    return (lambda: take("totp")), timed


def s5() -> Prepared:
    def prepare() -> tuple[Client, str]:
        user = take("recovery")
        client = client_for(user)
        SITE.password(client, user)
        SITE.before_recovery(client)
        return client, user.codes[0]

    def timed(state: tuple[Client, str]) -> None:
        SITE.recovery(*state)

    return prepare, timed


SCENARIOS: dict[str, Callable[[], Prepared]] = {"S1": s1, "S2": s2, "S3": s3, "S5": s5}


def run(scenario: str, n: int, warmup: int) -> dict[str, Any]:
    return base.run(scenario, n, warmup, SCENARIOS)


def queries(scenario: str, repeat: int = 3) -> dict[str, Any]:
    return base.queries(scenario, repeat, SCENARIOS)
