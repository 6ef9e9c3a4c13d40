"""What staff may set: a policy's allowed factors, and how long a bypass of MFA may last.

The service layer, the admin's forms and the management commands all check with these, so a
value is refused the same way wherever it is entered.
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import clock, errors
from ..models import FactorType, Requirement

# A bypass is for a user who lost every factor while they get a new one, not a way to turn
# MFA off for someone: staff grant it again if it runs out.
BYPASS_MAX_DAYS = 30


def _known(known: Sequence[str] | None) -> Sequence[str]:
    # The factors import these rules, so the rules cannot ask the registry: mfa_app's callers
    # pass its ``policy_names()``; without them, the built-in factors' names.
    return list(FactorType.values) if known is None else known


def clean_allowed_factors(value: Any, known: Sequence[str] | None = None) -> list[str]:
    """Known factor types from a list (or a comma-separated string), in the admin's order.

    ``known``: what a policy may allow, in order (``mfa_app.factors.policy_names()``).
    Raises ``ValidationError`` keyed by ``allowed_factors`` on anything else.
    """
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, Iterable):
        raise ValidationError({"allowed_factors": _("Give a list of factor types.")})
    chosen = [str(item).strip() for item in value]
    known = _known(known)
    unknown = [item for item in chosen if item not in known]
    if unknown:
        raise ValidationError(
            {
                "allowed_factors": _("Unknown factor type: %(unknown)s. Choose from %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(known)}
            }
        )
    return ordered_factors(chosen, known)


def ordered_factors(chosen: Iterable[str], known: Sequence[str] | None = None) -> list[str]:
    """``chosen`` in ``known``'s order, so a policy reads the same wherever it was saved."""
    chosen, known = set(chosen), _known(known)
    return [t for t in known if t in chosen] + sorted(chosen - set(known))


def check_in_force(requirement: str, allowed_factors: Collection[str], *, in_force: bool) -> None:
    """A policy that applies and asks for MFA must allow some factor: else nobody could enroll.

    ``in_force``: the application policy always is, a tenant's while its override is on.
    Raises ``ValidationError`` keyed by ``allowed_factors``.
    """
    if in_force and requirement != Requirement.DISABLED and not allowed_factors:
        raise ValidationError(
            {"allowed_factors": _("Allow at least one factor, or set the requirement to disabled.")}
        )


def check_bypass_until(until: datetime) -> None:
    """A bypass ends in the future, at most ``BYPASS_MAX_DAYS`` days from now.

    Raises ``errors.InvalidBypass``.
    """
    now = clock.now()
    if until <= now:
        raise errors.InvalidBypass(str(errors.MESSAGES["bypass_until"]))
    if until > now + timedelta(days=BYPASS_MAX_DAYS):
        message = str(errors.MESSAGES["bypass_too_long"] % {"days": BYPASS_MAX_DAYS})
        raise errors.InvalidBypass(message, max_days=BYPASS_MAX_DAYS)
