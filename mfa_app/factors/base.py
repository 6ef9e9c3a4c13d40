"""The Factor interface and the registry that knows each factor by type."""

from typing import Any, ClassVar

from django.db.models import QuerySet

from ..models import Challenge, FactorModel


class Factor:
    """What mfa_app needs from a factor: its records, and how to check a code.

    ``verify`` must spend what it accepts atomically, so that two concurrent
    requests presenting the same code cannot both succeed.
    """

    type: ClassVar[str]
    label: ClassVar[str]
    model: ClassVar[type[FactorModel]]
    # Recovery codes are a fallback: they neither enable MFA nor count as a factor.
    is_fallback: ClassVar[bool] = False
    # At a challenge, each factor of this type is its own choice (each phone gets its own code);
    # otherwise one choice covers them all (any authenticator app's code is accepted).
    per_device: ClassVar[bool] = False

    def devices(self, user: Any) -> QuerySet:
        return self.model.objects.filter(user=user, confirmed=True)

    def verify(self, user: Any, code: str) -> FactorModel | None:
        raise NotImplementedError

    def can_enroll(self, user: Any) -> bool:
        """Whether ``user`` could add one more factor of this type (policy aside)."""
        return True

    def begin_challenge(
        self,
        user: Any,
        request: Any,
        *,
        challenge: Challenge | None = None,
        device: FactorModel | None = None,
        send: bool = True,
    ) -> dict[str, Any]:
        """Prepare the user's answer (send a code, build WebAuthn options); return page context.

        ``device`` is the factor the user picked, for factors that answer one at a time (SMS).
        ``send=False``: the page is shown again after a wrong answer, so send nothing new.
        """
        return {}

    def verify_answer(
        self, user: Any, code: str, request: Any, challenge: Challenge | None = None
    ) -> FactorModel | None:
        """Check the answer to ``begin_challenge``; may raise ``InvalidCode`` to say why not."""
        return self.verify(user, code)

    # --- django-otp (mfa_app/otp.py runs the policy, lockout and audit around these) ------------

    def could_answer(self, device: FactorModel, token: str) -> bool:
        """Whether ``token`` has the shape of an answer for ``device``; nothing secret is compared.

        django-otp's ``match_token`` offers one token to each of the user's devices in turn: a
        recovery code is no wrong answer to an authenticator app, so it must not count as one.
        """
        return True

    def verify_device(self, device: FactorModel, token: str) -> bool:
        """Check ``token`` against ``device`` alone and spend it: one use, as ``verify`` does."""
        return False


_REGISTRY: dict[str, Factor] = {}


def register(factor_class: type[Factor]) -> type[Factor]:
    _REGISTRY[factor_class.type] = factor_class()
    return factor_class


def get_factor(factor_type: str) -> Factor:
    return _REGISTRY[factor_type]


def registered_factors() -> list[Factor]:
    return list(_REGISTRY.values())


def normalize_code(code: str) -> str:
    """Drop the spaces and dashes people type or paste between groups of characters."""
    return "".join(ch for ch in str(code) if ch not in " -\t").strip()
