"""What a user has: factors, MFA status, and the ways to answer a challenge."""

import re
from dataclasses import dataclass
from typing import Any

from .. import clock, errors, events, upsert
from ..factors import factor_for_device, fallback_factor, get_factor, second_factors

# Why a login is pending: also the outcomes of a sign-in decision (services.CHALLENGE...).
from ..login_state import CHALLENGE, ENROLL  # noqa: F401
from ..models import (
    FactorModel,
    UserState,
)
from ..policy import EffectivePolicy, policy_for

Kind = events.Kind
# The recovery codes' factor type, for callers of ``verify_challenge``; mfa_app asks the
# registry (``fallback_factor()``) instead.
RECOVERY = fallback_factor().type


# --- status ---------------------------------------------------------------------------------


def list_factors(user: Any) -> list[FactorModel]:
    """Every confirmed factor the user holds (recovery codes excluded), primary first."""
    return _primary_first(device for factor in second_factors() for device in factor.devices(user))


def _primary_first(devices: Any) -> list[FactorModel]:
    return sorted(devices, key=lambda d: (not d.is_primary, d.created_at or clock.now()))


def active_factors(user: Any, policy: EffectivePolicy | None = None) -> list[FactorModel]:
    """The factors the effective policy lets the user sign in with."""
    policy = policy or policy_for(user)
    allowed = [factor for factor in second_factors() if factor.allowed_by(policy)]
    return _primary_first(device for factor in allowed for device in factor.devices(user))


def sign_in_facts(user: Any, policy: EffectivePolicy) -> tuple[Any, bool]:
    """What a sign-in decision reads: until when the user's MFA is bypassed (or ``None``), and
    whether they hold a factor ``policy`` allows. One statement where the database allows."""
    allowed = [factor for factor in second_factors() if factor.allowed_by(policy)]
    connection = upsert.connection_for(UserState)
    if not upsert.supported(connection):
        state = UserState.objects.filter(user=user).first()
        has_factor = any(factor.devices(user).exists() for factor in allowed)
        return (state.bypass_until if state else None), has_factor
    in_sql = [factor for factor in allowed if factor.devices_in_sql]
    s = upsert.names(UserState, connection)
    # Quoted model names only: every value is a parameter.
    bypass = f"(SELECT {s.bypass_until} FROM {s.table} WHERE {s.user} = %s)"  # noqa: S608  # nosec B608
    row = _probe(user, in_sql, connection, before=bypass)
    bypass_until = upsert.value(UserState, "bypass_until", row[0], connection)
    others = [factor for factor in allowed if not factor.devices_in_sql]
    return bypass_until, any(row[1:]) or any(f.devices(user).exists() for f in others)


def factor_type_of(device: FactorModel) -> str:
    """The factor type of a factor model instance: ``"TOTP"``, ``"WEBAUTHN"``, ``"SMS"``..."""
    return factor_for_device(device).type


def get_user_factor(user: Any, factor_type: str, pk: Any) -> FactorModel:
    """Find one of ``user``'s own factors; anything else (another user's, a typo) is not found."""
    try:
        factor = get_factor(factor_type)
    except KeyError as exc:
        raise errors.FactorNotFound() from exc
    device = None
    if not factor.is_fallback and is_id(pk):
        device = factor.devices(user).filter(pk=int(pk)).first()
    if device is None:
        raise errors.FactorNotFound()
    return device


def is_id(value: Any) -> bool:
    """ASCII digits that fit a database id (``str.isdigit`` also passes superscripts)."""
    return re.fullmatch(r"[0-9]{1,18}", str(value)) is not None


def recovery_codes_remaining(user: Any, spent: Any = None) -> int:
    """How many of the user's recovery codes are still unused (0 without any); ``spent``: the
    set a code was just spent from, if the caller has it."""
    return fallback_factor().remaining(user, spent)


@dataclass(frozen=True)
class MFAStatus:
    """What ``mfa_status`` returns."""

    enabled: bool
    factors: list[FactorModel]
    recovery_codes_remaining: int
    policy: EffectivePolicy


def mfa_status(user: Any) -> MFAStatus:
    """Whether MFA is on for ``user``, their factors, recovery codes left and their policy.

    ``enabled``: the policy is not DISABLED and allows one of the factors the user holds.
    """
    policy = policy_for(user)
    factors = list_factors(user)
    return MFAStatus(
        enabled=any(factor_for_device(d).allowed_by(policy) for d in factors),
        factors=factors,
        recovery_codes_remaining=recovery_codes_remaining(user),
        policy=policy,
    )


@dataclass(frozen=True)
class ChallengeMethod:
    """One way to answer a challenge: a factor type, or one device of a per-device type (SMS)."""

    factor_type: str
    device: FactorModel | None = None

    @property
    def device_id(self) -> str:
        return str(self.device.pk) if self.device is not None else ""

    @property
    def destination(self) -> str:
        return self.device.masked_destination if self.device is not None else ""


def challenge_methods(
    user: Any, policy: EffectivePolicy | None = None, only: str | None = None
) -> list[ChallengeMethod]:
    """The ways the user can answer a challenge, the primary factor's first, recovery codes last.

    ``only``: just the methods of that (second) factor type, reading only its devices, for an
    answer that says which factor it is. What is read is kept for checking the answer
    (``Factor.answering_devices``).
    """
    policy = policy or policy_for(user)
    fallback = fallback_factor()
    factors = [f for f in second_factors() if f.allowed_by(policy)]
    if only == fallback.type:
        # Recovery codes answer only beside a second factor: whether there is one is enough.
        if not fallback.allowed_by(policy) or not fallback.load_answering_devices(user):
            return []
        return [ChallengeMethod(fallback.type)] if sign_in_facts(user, policy)[1] else []
    held = {factor.type for factor in factors} | {fallback.type}
    if only is not None:
        factors = [f for f in factors if f.type == only]
    elif len(factors) >= 2:
        # Many tables to read: first ask, in one statement, which of them hold any of the
        # user's devices; most users have one or two kinds.
        held = _held(user, [*factors, fallback])
        factors = [factor for factor in factors if factor.type in held]
    devices = _primary_first(
        device for factor in factors for device in factor.load_answering_devices(user)
    )
    methods: dict[tuple[str, Any], ChallengeMethod] = {}
    for device in devices:
        factor = factor_for_device(device)
        if factor.per_device:
            methods[factor.type, device.pk] = ChallengeMethod(factor.type, device)
        else:
            methods.setdefault((factor.type, None), ChallengeMethod(factor.type))
    with_fallback = only is None and methods and fallback.allowed_by(policy)
    if with_fallback and fallback.type in held and fallback.load_answering_devices(user):
        methods[fallback.type, None] = ChallengeMethod(fallback.type)
    return list(methods.values())


def _held(user: Any, factors: list[Any]) -> set[str]:
    """The types among ``factors`` of which ``user`` may hold a confirmed device: one EXISTS
    probe each, in one statement (a factor with its own ``devices`` is assumed held)."""
    connection = upsert.connection_for(UserState)
    in_sql = [factor for factor in factors if factor.devices_in_sql]
    held = {factor.type for factor in factors if not factor.devices_in_sql}
    if not upsert.supported(connection) or not in_sql:
        return held | {factor.type for factor in in_sql}
    row = _probe(user, in_sql, connection)
    return held | {factor.type for factor, present in zip(in_sql, row, strict=True) if present}


def _probe(user: Any, factors: list[Any], connection: Any, before: str = "") -> tuple:
    """``SELECT [before,] EXISTS(confirmed device of factor) ...`` for ``user``: its row.

    ``before``: a first column, with one ``%s`` for the user's primary key."""
    columns = [before] if before else []
    for factor in factors:
        n = upsert.names(factor.model, connection)
        columns.append(f"EXISTS(SELECT 1 FROM {n.table} WHERE {n.user} = %s AND {n.confirmed})")  # noqa: S608  # nosec B608
    user_pk = upsert.prep(UserState, "user", user.pk, connection)
    sql = f"SELECT {', '.join(columns)}"
    return upsert.execute(connection, sql, [user_pk] * len(columns))[1]


def challenge_factor_types(user: Any, policy: EffectivePolicy | None = None) -> list[str]:
    """Factor types the user can answer a challenge with, primary first."""
    return list(dict.fromkeys(m.factor_type for m in challenge_methods(user, policy)))
