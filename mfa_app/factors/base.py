"""The Factor interface and the registry that knows each factor by type."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from .. import errors, events, lockout, upsert
from ..models import Challenge, FactorModel
from ..policy import EffectivePolicy, policy_for


@dataclass(frozen=True)
class EnrollmentProof:
    """What a checked enrollment answer proved: the new factor's fields, and what to spend."""

    fields: dict[str, Any]
    # Runs in the transaction that saves the factor; ``False``: spent by another request meanwhile.
    spend: Callable[[], bool] = field(default=lambda: True)
    # The answer was counted against the user's lockout; saving the factor clears that.
    counted: bool = False


# Where ``load_answering_devices`` keeps a request's devices: on that request's user object,
# as Django keeps a user's permissions (``_perm_cache``).
LOADED_DEVICES = "_mfa_answering_devices"


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

    def answering_devices(self, user: Any) -> Any:
        """``devices(user)``, or the list this request's challenge already read for ``user``.

        Listing the ways to answer a challenge reads each factor's devices; checking the
        answer then need not read them again (the spend stays a conditional write).
        """
        loaded = getattr(user, LOADED_DEVICES, {})
        return loaded[self.type] if self.type in loaded else self.devices(user)

    def load_answering_devices(self, user: Any) -> list[FactorModel]:
        """Read ``devices(user)`` once for this request's challenge (``answering_devices``)."""
        devices = self._devices_in_sql(user)
        if devices is None:
            devices = list(self.devices(user))
        if not hasattr(user, LOADED_DEVICES):
            setattr(user, LOADED_DEVICES, {})
        getattr(user, LOADED_DEVICES)[self.type] = devices
        return devices

    @property
    def devices_in_sql(self) -> bool:
        """Whether ``devices`` is the default one, which mfa_app may write in SQL (``upsert``)."""
        return type(self).devices is Factor.devices

    def _devices_in_sql(self, user: Any) -> list[FactorModel] | None:
        """``devices(user)`` written once (``upsert``), unless a subclass chose its own."""
        connection = upsert.connection_for(self.model)
        if not self.devices_in_sql or not upsert.supported(connection):
            return None
        n = upsert.names(self.model, connection)
        # Quoted model names only: every value is a parameter.
        sql = f"SELECT {upsert.columns(self.model, connection)} FROM {n.table} "  # noqa: S608  # nosec B608
        sql += f"WHERE {n.user} = %s AND {n.confirmed}"
        user_pk = upsert.prep(self.model, "user", user.pk, connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_pk])
            return [upsert.instance(self.model, row, connection) for row in cursor.fetchall()]

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

    # --- presentation ---------------------------------------------------------------------

    # A short name a template can pick an icon by: "app", "key", "phone", "mail", "recovery".
    icon: ClassVar[str] = ""
    # One sentence: what the factor does for the user.
    description: ClassVar[str] = ""
    # One sentence: what the user must have to use it (the enrollment menu shows it).
    needs: ClassVar[str] = ""
    # The enrollment menu marks the allowed factor with the lowest rank "Recommended" (``None``:
    # never). ``needs_webauthn``: only where the browser has WebAuthn; the menu then falls back
    # to the best of the others.
    recommend_rank: ClassVar[int | None] = None
    needs_webauthn: ClassVar[bool] = False
    # The page that adds one (``None`` for a fallback, which is issued, not enrolled).
    enroll_template: ClassVar[str | None] = None
    enroll_url_name: ClassVar[str | None] = None
    # Where lists of choices a user sees put it (the enrollment menu): lower first.
    order: ClassVar[int] = 100
    # The person types the answer (a code field), rather than the browser producing it.
    typed_answer: ClassVar[bool] = True
    # A typed answer is digits only (the field can ask for a numeric keypad).
    numeric_answer: ClassVar[bool] = True

    @property
    def answer_digits(self) -> int | None:
        """How many digits a right answer has, if always the same; a page refuses any other
        shape before checking it, so a typo costs no attempt (``None``: no such rule)."""
        return None

    @property
    def add_label(self) -> str:
        """The security page's button that adds one of these.

        Factors give their own, whole sentence: a label dropped into "Add ..." cannot take the
        case or gender another language needs.
        """
        return gettext("Add: %(factor)s") % {"factor": self.label}

    def switch_label(self, method: Any, current: str = "") -> str:
        """The challenge page's link text that switches to ``method`` (from ``current``)."""
        return str(self.label)

    def device_label(self, device: FactorModel) -> str:
        """What kind of factor ``device`` is, as the security page names it."""
        return str(self.label)

    def masked_destination(self, device: FactorModel) -> str:
        """Where codes go, as the user may see it; empty for factors that send nothing."""
        return device.masked_destination

    # --- policy ---------------------------------------------------------------------------

    # The value a policy's ``allowed_factors`` holds to allow this factor (``None``: none can).
    policy_name: ClassVar[str | None] = None

    def allowed_by(self, policy: EffectivePolicy) -> bool:
        return self.policy_name is not None and policy.allows(self.policy_name)

    def require_allowed(self, user: Any) -> EffectivePolicy:
        """The user's policy, if it allows this factor; ``FactorNotAllowed`` if not."""
        policy = policy_for(user)
        if not self.allowed_by(policy):
            raise errors.FactorNotAllowed()
        return policy

    # --- enrollment -----------------------------------------------------------------------

    def begin_enrollment(self, user: Any, request: Any = None, **details: Any) -> Any:
        """Offer ``user`` a new factor of this type, if the policy allows it.

        What comes back is the factor's own (a TOTP secret's setup, WebAuthn options, the
        destination a code went to); ``enrollment_state`` says what of it to keep for
        ``confirm_enrollment``.
        """
        self.require_allowed(user)
        return self.prepare_enrollment(user, request, **details)

    def confirm_enrollment(
        self,
        user: Any,
        answer: str,
        request: Any = None,
        *,
        name: str = "",
        then: Callable[[], None] | None = None,
        **state: Any,
    ) -> FactorModel:
        """Save the factor once ``answer`` proves the user holds what ``begin_enrollment`` offered.

        ``state``: what ``enrollment_state`` said to keep. ``then`` runs in the transaction that
        saves the factor; if it raises, nothing is saved or spent. Writes ``enrolled``.
        """
        self.require_allowed(user)
        proof = self.check_enrollment(user, answer, request, **state)
        try:
            with transaction.atomic():
                if not proof.spend():
                    raise errors.InvalidCode()
                device = self.model.objects.create(
                    user=user,
                    name=name or self.default_name(proof.fields),
                    confirmed=True,
                    is_primary=not has_second_factor(user),
                    **proof.fields,
                )
                if then is not None:
                    then()
        except IntegrityError as exc:
            # A unique index refused it: added by a concurrent request since the check.
            duplicate = self.already_enrolled_error()
            if duplicate is None:
                raise
            raise duplicate from exc
        if proof.counted:
            lockout.attempt_succeeded(user)
        events.record(events.Kind.ENROLLED, user, request, factor_type=self.type)
        return device

    def prepare_enrollment(self, user: Any, request: Any, **details: Any) -> Any:
        """The factor's part of ``begin_enrollment``: make the offer (policy already checked)."""
        raise NotImplementedError

    def enrollment_state(self, offer: Any) -> dict[str, Any]:
        """What ``confirm_enrollment`` needs back from ``offer``, for the caller to keep."""
        return {}

    def check_enrollment(
        self, user: Any, answer: str, request: Any, **state: Any
    ) -> EnrollmentProof:
        """The factor's part of ``confirm_enrollment``: check ``answer``; raise ``MFAError`` if bad.

        Nothing may be saved here: the shared steps save the factor, in one transaction.
        """
        raise NotImplementedError

    def default_name(self, fields: dict[str, Any]) -> str:
        """The new factor's name when the user gives none."""
        return str(self.label)

    def already_enrolled_error(self) -> errors.MFAError | None:
        """What to raise when a concurrent request saved the same factor; ``None``: re-raise."""
        return None


_REGISTRY: dict[str, Factor] = {}


def register(factor_class: type[Factor]) -> type[Factor]:
    _REGISTRY[factor_class.type] = factor_class()
    return factor_class


def get_factor(factor_type: str) -> Factor:
    return _REGISTRY[factor_type]


def registered_factors() -> list[Factor]:
    return list(_REGISTRY.values())


def second_factors() -> list[Factor]:
    """The registered factors that count as a second factor (recovery codes do not)."""
    return [f for f in _REGISTRY.values() if not f.is_fallback]


def fallback_factor() -> Factor:
    """The factor a user falls back on without their others: recovery codes."""
    for factor in _REGISTRY.values():
        if factor.is_fallback:
            return factor
    raise LookupError("no fallback factor is registered")


def factor_for_device(device: FactorModel) -> Factor:
    """The factor whose model ``device`` is an instance of."""
    for factor in _REGISTRY.values():
        if isinstance(device, factor.model):
            return factor
    raise LookupError(f"no registered factor stores {type(device).__name__}")


def enrollable_factors(user: Any, policy: EffectivePolicy) -> list[Factor]:
    """The factors ``user`` may add now, in menu order: the policy allows them, the factor can."""
    allowed = [f for f in second_factors() if f.allowed_by(policy) and f.can_enroll(user)]
    return sorted(allowed, key=lambda f: f.order)


def has_second_factor(user: Any) -> bool:
    """Whether ``user`` holds any confirmed factor (recovery codes aside)."""
    return any(f.devices(user).exists() for f in second_factors())


def normalize_code(code: str) -> str:
    """Drop the spaces and dashes people type or paste between groups of characters."""
    return "".join(ch for ch in str(code) if ch not in " -\t").strip()


def policy_names() -> list[str]:
    """The values a policy's ``allowed_factors`` may hold: each second factor's, in menu order."""
    ordered = sorted(second_factors(), key=lambda f: f.order)
    return [str(f.policy_name) for f in ordered if f.policy_name is not None]
