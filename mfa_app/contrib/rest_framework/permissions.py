"""``IsMFAVerified``: DRF's permission for views that need a user who passed MFA (recently)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ... import login_state
from . import claims


def proof_of(request: Request) -> claims.Proof | None:
    """How and when the user of this DRF request passed MFA: from its token, or its session."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return None
    if request.auth is not None:
        return claims.of_auth(user, request.auth)
    return claims.from_session(request._request)


class IsMFAVerified(BasePermission):
    """Allow a user who passed MFA at sign-in: within ``max_age`` seconds, and with one of
    ``factors`` when they are set. ``IsMFAVerified.within(300)`` makes a step-up variant."""

    max_age: int | None = None
    factors: tuple[str, ...] = ()
    message = _("Multi-factor authentication is required.")
    code = "mfa_required"

    @classmethod
    def within(cls, max_age: int | None = None, factors: Any = ()) -> type["IsMFAVerified"]:
        """A subclass that also asks for MFA passed within ``max_age`` seconds, with ``factors``."""
        return type(
            f"IsMFAVerifiedWithin{max_age or 0}",
            (cls,),
            {"max_age": max_age, "factors": tuple(factors)},
        )

    def has_permission(self, request: Request, view: Any) -> bool:
        proof = proof_of(request)
        if proof is None or not proof.mfa_verified:
            return False
        if self.factors and proof.factor_type not in self.factors:
            self.code = "mfa_step_up_required"
            return False
        if self.max_age is not None and login_state.now() - proof.mfa_at > self.max_age:
            # The client signs in again (password, then the challenge) for fresh tokens.
            self.message = _("Multi-factor authentication is required again.")
            self.code = "mfa_step_up_required"
            return False
        return True
