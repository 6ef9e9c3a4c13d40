"""What every importer shares: the plan of one user's records, the checks, and the writes.

An importer (one module per peer package) only reads: it turns each of a user's records into
an ``Item`` (the factor to create, or why it cannot be). Everything that writes is here, so
the rules hold for every peer: nothing is written before the policy check has passed for every
user, one transaction per user, a user with a refused record is left untouched, a record
already imported is not imported again, and ``--delete-source`` deletes only imported records.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction

from .. import clock, events
from ..conf import app_settings
from ..factors import fallback_factor, get_factor
from ..factors.base import has_second_factor
from ..models import (
    EmailFactor,
    FactorType,
    ImportedRecord,
    RecoveryCodeSet,
    SMSFactor,
    TOTPFactor,
    WebAuthnCredential,
)
from ..policy import policy_for
from ..tenants import tenant_for

Kind = events.Kind
RECOVERY = "RECOVERY"


class ImportRefused(Exception):
    """A peer's record that mfa_app cannot honour; the message says why, for the report."""


@dataclass
class Item:
    """One record of the peer: what it becomes here, or why it does not."""

    record: str  # "otp_totp.totpdevice:12": unique within the source, for the ledger
    factor_type: str
    name: str
    # The new factor's model fields (for RECOVERY: ``codes`` and ``legacy_format``).
    fields: dict[str, Any] = field(default_factory=dict)
    refusal: str = ""
    # Known, but cannot be carried over (one-way hashed codes): the user is told, not refused.
    not_carried: str = ""
    delete: Callable[[], Any] | None = None
    already: bool = False  # in the ledger: imported by an earlier run

    @property
    def importable(self) -> bool:
        return not self.refusal and not self.not_carried and not self.already


@dataclass
class UserPlan:
    user: Any
    items: list[Item]

    @property
    def refused(self) -> list[Item]:
        return [item for item in self.items if item.refusal]

    @property
    def to_import(self) -> list[Item]:
        return [item for item in self.items if item.importable]

    @property
    def to_notice(self) -> list[Item]:
        return [item for item in self.items if item.not_carried and not item.already]

    def types(self) -> set[str]:
        return {item.factor_type for item in self.to_import}


class Importer:
    """Read one peer package's records, user by user. Subclasses fill the three hooks."""

    source: ClassVar[str]
    label: ClassVar[str]
    # The app labels (``apps.is_installed`` names) that must be installed to read the records.
    requires: ClassVar[tuple[str, ...]]

    def __init__(self, rp_id: str | None = None) -> None:
        self.rp_id = rp_id

    def missing_apps(self) -> list[str]:
        return [name for name in self.requires if not apps.is_installed(name)]

    def user_ids(self) -> Iterable[Any]:
        """The primary keys of the users holding records (any order, duplicates allowed)."""
        raise NotImplementedError(f"{type(self).__name__} must define user_ids()")

    def items(self, user: Any) -> list[Item]:
        """Every record of ``user``, as an ``Item`` (a refused one carries ``refusal``)."""
        raise NotImplementedError(f"{type(self).__name__} must define items()")

    # --- shared helpers for the subclasses ---------------------------------------------

    def totp_item(
        self,
        record: str,
        name: str,
        secret: str,
        *,
        digits: int,
        period: int,
        t0: int = 0,
        last_t: int = -1,
        delete: Callable[[], Any] | None = None,
    ) -> Item:
        """An authenticator app: refused unless it makes codes the way this site checks them."""
        refusal = ""
        if digits != app_settings.TOTP_DIGITS:
            refusal = f"{digits}-digit codes; this site checks {app_settings.TOTP_DIGITS}"
        elif period != app_settings.TOTP_PERIOD:
            refusal = f"a {period}s time step; this site uses {app_settings.TOTP_PERIOD}s"
        elif t0 != 0:
            refusal = f"time steps counted from {t0}; this site counts from 0"
        fields = {"key": secret, "last_t": last_t}
        return Item(record, FactorType.TOTP, name, fields, refusal=refusal, delete=delete)

    def webauthn_item(
        self,
        record: str,
        name: str,
        *,
        rp_id: str | None,
        delete: Callable[[], Any] | None = None,
        **fields: Any,
    ) -> Item:
        """A security key or passkey: refused unless it was made for this site's RP ID."""
        refusal = ""
        if not self.rp_id:
            refusal = "this site's WebAuthn RP ID is unknown: set MFA_WEBAUTHN_RP_ID or --rp-id"
        elif rp_id is not None and rp_id != self.rp_id:
            refusal = f"made for RP ID {rp_id!r}; this site's is {self.rp_id!r}"
        elif WebAuthnCredential.objects.filter(credential_id=fields["credential_id"]).exists():
            refusal = "this credential is already registered here"
        return Item(record, FactorType.WEBAUTHN, name, fields, refusal=refusal, delete=delete)


def record_key(instance: Any) -> str:
    """``"app_label.model:pk"``: names a peer's row in the ledger and in the report."""
    return f"{instance._meta.label_lower}:{instance.pk}"


def last_step(last_used_at: Any, period: int) -> int:
    """The latest step a code used at ``last_used_at`` could have been for (-1: never used).

    For peers that keep no used step (only when a code was last accepted): every code of the
    tolerance window around that use is refused, rather than risk accepting one again.
    """
    if last_used_at is None:
        return -1
    used = int(last_used_at.timestamp() // period) + app_settings.TOTP_TOLERANCE
    return min(used, int(clock.timestamp() // period) + app_settings.TOTP_TOLERANCE)


def uuid_text(raw: bytes) -> str:
    """An AAGUID's 16 bytes as the usual UUID text."""
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def users_in_batches(
    importer: Importer, usernames: list[str] | None, batch_size: int
) -> Iterator[list[Any]]:
    """The users to import, ``batch_size`` at a time, in primary key order.

    Only the keys are held in memory; each batch is read by at most ``batch_size`` of them (a
    long ``IN`` list would pass SQLite's limit on query parameters).
    """
    model = get_user_model()
    ids = set(importer.user_ids())
    if usernames is not None:
        ids &= set(users_named(usernames).values_list("pk", flat=True))
    ordered = sorted(ids)
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        yield list(model._default_manager.filter(pk__in=chunk).order_by("pk"))


def users_named(usernames: Iterable[str]) -> Any:
    model = get_user_model()
    return model._default_manager.filter(**{f"{model.USERNAME_FIELD}__in": list(usernames)})


def plan_for(importer: Importer, user: Any) -> UserPlan:
    """The user's records, each marked as already imported where the ledger says so."""
    items = importer.items(user)
    done = set(
        ImportedRecord.objects.filter(
            source=importer.source, record__in=[item.record for item in items]
        ).values_list("record", flat=True)
    )
    for item in items:
        item.already = item.record in done
        if item.already:
            item.refusal = ""  # e.g. "already registered here": by that earlier run
    # One set per user: codes made here since would be lost, or the imported ones ignored.
    codes = [item for item in items if item.factor_type == RECOVERY and item.importable]
    if codes and RecoveryCodeSet.objects.filter(user=user).exists():
        for item in codes:
            item.refusal = "the user already has recovery codes here"
    return UserPlan(user, items)


def policy_problem(plan: UserPlan) -> str:
    """Why the user's policy would not let them use a factor type about to be imported."""
    if not plan.to_import or plan.refused:
        return ""
    policy = policy_for(plan.user)
    refused = sorted(t for t in plan.types() if not get_factor(t).allowed_by(policy))
    if not refused:
        return ""
    tenant = tenant_for(plan.user) if policy.source == "tenant" else None
    where = f"the policy of tenant {tenant}" if tenant is not None else "the application policy"
    what = ", ".join("recovery codes" if t == RECOVERY else t for t in refused)
    return f"{plan.user.get_username()}: {where} does not allow {what}; change {where} first"


@dataclass
class Outcome:
    imported: int = 0
    deleted: int = 0


def apply(plan: UserPlan, importer: Importer, *, delete_source: bool) -> Outcome:
    """Import one user's records in one transaction; nothing if any record is refused."""
    outcome = Outcome()
    if plan.refused:
        return outcome
    with transaction.atomic():
        for item in plan.to_import:
            _create(plan.user, item)
            _ledger(plan.user, importer, item, ImportedRecord.Outcome.IMPORTED)
            details = {"source": importer.source, "record": item.record}
            if item.factor_type == RECOVERY:
                details["carried"] = True
            events.record(Kind.IMPORTED, plan.user, factor_type=item.factor_type, **details)
            outcome.imported += 1
        for item in plan.to_notice:
            _ledger(plan.user, importer, item, ImportedRecord.Outcome.NOT_CARRIED)
            events.record(
                Kind.IMPORTED,
                plan.user,
                factor_type=item.factor_type,
                source=importer.source,
                record=item.record,
                carried=False,
            )
        if delete_source:
            imported = set(
                ImportedRecord.objects.filter(
                    source=importer.source,
                    user=plan.user,
                    outcome=ImportedRecord.Outcome.IMPORTED,
                ).values_list("record", flat=True)
            )
            for item in plan.items:
                if item.record in imported and item.delete is not None:
                    item.delete()
                    outcome.deleted += 1
    return outcome


def _ledger(user: Any, importer: Importer, item: Item, outcome: str) -> None:
    ImportedRecord.objects.create(
        user=user,
        source=importer.source,
        record=item.record,
        factor_type=item.factor_type,
        outcome=outcome,
        imported_at=clock.now(),
    )


def _create(user: Any, item: Item) -> None:
    if item.factor_type == RECOVERY:
        fallback_factor().import_codes(user, **item.fields)
        return
    model = {
        FactorType.TOTP: TOTPFactor,
        FactorType.WEBAUTHN: WebAuthnCredential,
        FactorType.SMS: SMSFactor,
        FactorType.EMAIL: EmailFactor,
    }[item.factor_type]
    if (
        model in (SMSFactor, EmailFactor)
        and model.objects.filter(user=user, **item.fields).exists()
    ):
        return  # the same phone or address, added here by the user meanwhile
    model.objects.create(
        user=user,
        name=item.name[:64],
        confirmed=True,
        is_primary=not has_second_factor(user),
        **item.fields,
    )
