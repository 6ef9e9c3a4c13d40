"""Recovery codes: the first set after enrollment, and regeneration."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from .. import errors, events
from ..factors import fallback_factor
from ..models import ImportedRecord, RecoveryCodeSet
from ..policy import EffectivePolicy, policy_for
from .status import Kind
from .trust import revoke_devices

# --- recovery codes -------------------------------------------------------------------------


def recovery_codes_after_enrollment(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Generate the first set of recovery codes, if the policy wants them and none exist."""
    policy = policy_for(user)
    if (
        not fallback_factor().allowed_by(policy)
        or RecoveryCodeSet.objects.filter(user=user).exists()
    ):
        return []
    return _replace_recovery_codes(user, request, policy)


def regenerate_recovery_codes(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes; every earlier code stops working.

    Every remembered browser is revoked too: new codes are asked for when the old ones may be
    in someone else's hands, and so may a browser trusted meanwhile.
    """
    policy = policy_for(user)
    if not fallback_factor().allowed_by(policy):
        raise errors.RecoveryCodesDisabled()
    with transaction.atomic():
        codes = _replace_recovery_codes(user, request, policy)
        revoke_devices(user, request=request, reason=Kind.RECOVERY_CODES_GENERATED)
    return codes


def recovery_code_spent(user: Any, request: HttpRequest | None = None) -> None:
    """A recovery code was just spent: revoke every remembered browser, in the spend's transaction.

    Reaching for a recovery code usually means a lost device, and whoever has it may have a
    remembered browser too. A sign-in that ticks "remember this device" as well is remembered
    again right after (flows.challenge.answer): the code has just proven that browser.
    """
    revoke_devices(user, request=request, reason=Kind.RECOVERY_CODE_USED)


def _replace_recovery_codes(
    user: Any, request: HttpRequest | None, policy: EffectivePolicy | None = None
) -> list[str]:
    policy = policy or policy_for(user)
    codes = fallback_factor().replace_codes(user, policy.recovery_codes_count)
    events.record(Kind.RECOVERY_CODES_GENERATED, user, request, count=len(codes))
    return codes


def imported_codes_notice(user: Any) -> str:
    """Whether to ask the user for a new set of recovery codes after an import (``mfa_import``).

    ``"carried"``: their set is another package's codes, which still work once each;
    ``"not_carried"``: that package's codes could not be carried over and they have none here;
    ``""``: nothing to say (their codes are mfa_app's own, or nothing was imported).
    """
    code_set = RecoveryCodeSet.objects.filter(user=user).only("legacy_format").first()
    if code_set is not None:
        return "carried" if code_set.legacy_format else ""
    left_behind = ImportedRecord.objects.filter(
        user=user,
        factor_type=fallback_factor().type,
        outcome=ImportedRecord.Outcome.NOT_CARRIED,
    )
    return "not_carried" if left_behind.exists() else ""
