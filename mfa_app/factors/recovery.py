"""Recovery codes: single-use look-up secrets, stored only as keyed hashes."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import clock, upsert
from ..models import RecoveryCode, RecoveryCodeSet
from ..policy import EffectivePolicy
from .base import Factor, normalize_code, register

# 16 characters of Crockford-like base32 (no I, L, O, U): 80 bits per code.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
GROUP = 4


def generate_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


@dataclass(frozen=True)
class CodeFormat:
    """How a set's codes are read: their canonical form, and what can be one at all."""

    canonical: Callable[[str], str]
    shaped: Callable[[str], bool]


def _ours(code: str) -> str:
    code = normalize_code(code).upper()
    return code.replace("O", "0").replace("I", "1").replace("L", "1")


def _lower(code: str) -> str:
    return normalize_code(code).lower()


# Codes imported from another package (``mfa_import``) keep that package's shape, so that a
# code the user saved still works once: django-otp's static tokens (up to 16 letters and
# digits, compared as typed, read here without regard to case), allauth's digits.
FORMATS: dict[str, CodeFormat] = {
    "": CodeFormat(_ours, lambda v: len(v) == CODE_LENGTH and all(ch in ALPHABET for ch in v)),
    "django_otp": CodeFormat(_lower, lambda v: 0 < len(v) <= 16 and v.isascii() and v.isalnum()),
    "allauth": CodeFormat(_lower, lambda v: 4 <= len(v) <= 16 and v.isascii() and v.isdigit()),
}


def canonical(code: str, legacy_format: str = "") -> str:
    return FORMATS[legacy_format].canonical(code)


def digest(salt: str, code: str, legacy_format: str = "") -> str:
    # Keyed with SECRET_KEY and salted per set: a database dump alone does not reveal the codes,
    # and one attempt costs one hash, compared by the database's unique index.
    return salted_hmac(
        "mfa_app.recovery-code", salt + canonical(code, legacy_format), algorithm="sha256"
    ).hexdigest()


def looks_like_code(code: str, legacy_format: str = "") -> bool:
    code_format = FORMATS[legacy_format]
    return code_format.shaped(code_format.canonical(code))


@register
class Recovery(Factor):
    type = "RECOVERY"
    label = _("Recovery code")
    model = RecoveryCodeSet
    is_fallback = True
    icon = "recovery"
    description = _(
        "Use one of the single-use codes you saved when you set up two-step verification."
    )
    order = 90
    numeric_answer = False

    def switch_label(self, method: Any, current: str = "") -> str:
        return gettext("Use a recovery code")

    def allowed_by(self, policy: EffectivePolicy) -> bool:
        # No policy_name: the policy switches recovery codes on or off by themselves.
        return policy.recovery_codes_enabled

    def verify(self, user: Any, code: str) -> RecoveryCodeSet | None:
        code_sets = self.answering_devices(user)
        code_set = code_sets.first() if hasattr(code_sets, "first") else next(iter(code_sets), None)
        if code_set is None or not self.could_answer(code_set, code):
            return None
        if not self.spend_code(code_set, code):
            return None
        return code_set

    @staticmethod
    def spend_code(code_set: RecoveryCodeSet, code: str) -> bool:
        """Mark ``code`` used if it is an unused code of ``code_set``: each code works once."""
        now = clock.now()
        code_digest = digest(code_set.salt, code, code_set.legacy_format)
        connection = upsert.connection_for(RecoveryCode)
        with transaction.atomic():
            if not upsert.supported(connection):
                spent = RecoveryCode.objects.filter(
                    code_set=code_set, digest=code_digest, used_at__isnull=True
                ).update(used_at=now)
                if spent != 1:
                    return False
                RecoveryCodeSet.objects.filter(pk=code_set.pk).update(last_used_at=now)
                return True
            c, s = upsert.names(RecoveryCode, connection), upsert.names(RecoveryCodeSet, connection)
            at = upsert.prep(RecoveryCode, "used_at", now, connection)
            # Quoted model names only: every value is a parameter.
            sql = f"UPDATE {c.table} SET {c.used_at} = %s WHERE {c.code_set} = %s "  # noqa: S608  # nosec B608
            sql += f"AND {c.digest} = %s AND {c.used_at} IS NULL"
            if upsert.execute(connection, sql, [at, code_set.pk, code_digest])[0] != 1:
                return False
            # The codes left come back with the set's update: no count of them afterwards.
            left = f"SELECT COUNT(*) FROM {c.table} WHERE {c.code_set} = %s"  # noqa: S608  # nosec B608
            left += f" AND {c.used_at} IS NULL"
            sql = f"UPDATE {s.table} SET {s.last_used_at} = %s WHERE {s.id} = %s "  # noqa: S608  # nosec B608
            sql += f"RETURNING ({left})"
            row = upsert.execute(connection, sql, [at, code_set.pk, code_set.pk])[1]
            code_set.codes_left = row[0]
        return True

    def could_answer(self, device: RecoveryCodeSet, token: str) -> bool:
        return looks_like_code(token, device.legacy_format)

    def verify_device(self, device: RecoveryCodeSet, token: str) -> bool:
        return self.could_answer(device, token) and self.spend_code(device, token)

    def import_codes(self, user: Any, codes: list[str], legacy_format: str) -> RecoveryCodeSet:
        """Keep another package's unused ``codes`` as the user's set, hashed like ours.

        The caller makes sure the user has no set yet; each code is spent once, as ours are.
        """
        salt = secrets.token_hex(16)
        code_set = RecoveryCodeSet.objects.create(
            user=user,
            name=str(_("Recovery codes")),
            confirmed=True,
            salt=salt,
            legacy_format=legacy_format,
        )
        digests = {digest(salt, code, legacy_format) for code in codes}
        RecoveryCode.objects.bulk_create(RecoveryCode(code_set=code_set, digest=d) for d in digests)
        return code_set

    def replace_codes(self, user: Any, count: int) -> list[str]:
        """Generate a new set of ``count`` codes, invalidating every earlier code."""
        codes = [generate_code() for _ in range(count)]
        salt = secrets.token_hex(16)
        with transaction.atomic():
            RecoveryCodeSet.objects.filter(user=user).delete()
            code_set = RecoveryCodeSet.objects.create(
                user=user, name=str(_("Recovery codes")), confirmed=True, salt=salt
            )
            RecoveryCode.objects.bulk_create(
                RecoveryCode(code_set=code_set, digest=digest(salt, code)) for code in codes
            )
        return codes

    def remaining(self, user: Any, spent: RecoveryCodeSet | None = None) -> int:
        """How many unused codes ``user`` has; ``spent``: the set a code was just spent from
        (``spend_code`` counted them in passing)."""
        if spent is not None and spent.codes_left is not None:
            return spent.codes_left
        connection = upsert.connection_for(RecoveryCode)
        if not upsert.supported(connection):
            return RecoveryCode.objects.filter(
                code_set__user=user, code_set__confirmed=True, used_at__isnull=True
            ).count()
        c, s = upsert.names(RecoveryCode, connection), upsert.names(RecoveryCodeSet, connection)
        # Quoted model names only: every value is a parameter.
        sql = f"SELECT COUNT(*) FROM {c.table} INNER JOIN {s.table} ON {s.table}.{s.id} = "  # noqa: S608  # nosec B608
        sql += f"{c.table}.{c.code_set} WHERE {s.table}.{s.user} = %s AND {s.table}.{s.confirmed} "
        sql += f"AND {c.table}.{c.used_at} IS NULL"
        user_pk = upsert.prep(RecoveryCodeSet, "user", user.pk, connection)
        return upsert.execute(connection, sql, [user_pk])[1][0]
