"""Users for the load test, and what the server recorded about one of them afterwards.

    python -m bench.load.seed users --count N --brute 2 --out users.json
    python -m bench.load.seed state --username bf0

Run with ``DJANGO_SETTINGS_MODULE=bench.load.settings`` after ``manage.py migrate``.
"""

import argparse
import json
import sys
from pathlib import Path

import django


def seed_users(count: int, brute: int, out: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from bench.scenarios import PASSWORD
    from mfa_app.factors.totp import generate_secret
    from mfa_app.models import TOTPFactor

    user_model = get_user_model()
    encoded = make_password(PASSWORD)
    names = [f"load{i}" for i in range(count)] + [f"bf{i}" for i in range(brute)]
    keys = [generate_secret() for _ in names]
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            user_model(username=n, email=f"{n}@example.com", password=encoded) for n in names
        )
        TOTPFactor.objects.bulk_create(
            TOTPFactor(user=u, name="Phone", key=k, confirmed=True, is_primary=True)
            for u, k in zip(users, keys, strict=True)
        )
    pairs = list(zip(names, keys, strict=True))
    data = {"password": PASSWORD, "users": pairs[:count], "brute": pairs[count:]}
    out.write_text(json.dumps(data))
    print(f"seeded {count} users and {brute} brute-force targets, each with a TOTP factor")


def show_state(username: str) -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from mfa_app.conf import app_settings
    from mfa_app.models import Challenge, MFAEvent, UserState

    user = get_user_model().objects.get(username=username)
    state = UserState.objects.filter(user=user).first()
    events = dict(
        MFAEvent.objects.filter(user=user)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    challenges = Challenge.objects.filter(user=user)
    print(
        json.dumps(
            {
                "username": username,
                "settings": {
                    "LOCKOUT_THRESHOLD": app_settings.LOCKOUT_THRESHOLD,
                    "LOCKOUT_DELAY_AFTER": app_settings.LOCKOUT_DELAY_AFTER,
                    "LOCKOUT_BASE_DELAY": app_settings.LOCKOUT_BASE_DELAY,
                    "MAX_ATTEMPTS": app_settings.MAX_ATTEMPTS,
                },
                "failed_attempts": getattr(state, "failed_attempts", None),
                "locked_until": str(getattr(state, "locked_until", None)),
                "events": events,
                "challenges": challenges.count(),
                "wrong_codes_on_challenges": sum(c.failures for c in challenges),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    users = sub.add_parser("users")
    users.add_argument("--count", type=int, required=True)
    users.add_argument("--brute", type=int, default=2)
    users.add_argument("--out", type=Path, required=True)
    state = sub.add_parser("state")
    state.add_argument("--username", required=True)
    args = parser.parse_args()
    django.setup()
    if args.command == "users":
        seed_users(args.count, args.brute, args.out)
    else:
        show_state(args.username)


if __name__ == "__main__":
    sys.exit(main())
