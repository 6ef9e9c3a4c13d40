"""Answering a challenge: a pending sign-in's, or a signed-in user's step-up.

Who may answer, what a success does (sign the pending login in, or note the step-up) and what
an ending does (drop the pending login, or sign out a session that could not prove it is the
user) are decided here once, for the challenge page, the step-up page and the JSON API.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import logout
from django.http import HttpRequest

from .. import errors, login_state, services
from ..factors import get_factor
from ..models import FactorModel
from ..policy import EffectivePolicy, policy_for
from . import signin

SIGN_IN = "sign_in"
STEP_UP = "step_up"
# A sign-in with no session: a token client's, carried by its challenge token
# (mfa_app.contrib.rest_framework). Passing or ending it touches no session.
TOKEN = "token"  # noqa: S105 (a kind of challenge)
# Errors after which the challenge is over: no answer can pass it any more.
ENDED = (errors.LockedOut, errors.ChallengeExpired, errors.ChallengeAlreadyVerified)


@dataclass
class OpenChallenge:
    """A challenge this request may answer, and the ways ``user`` can answer it.

    The ways are listed when first needed: an answer that names its factor reads only that
    factor's devices (``methods_of``); a page that shows them all reads them all (``methods``).
    """

    request: HttpRequest
    kind: str
    user: Any
    policy: EffectivePolicy
    loaded_methods: list[services.ChallengeMethod] | None = None
    challenge_id: str = ""
    expires_at: float = 0.0
    # A step-up challenge is opened (or found) only when something is done with it.
    opener: Callable[[], tuple[str, float]] | None = field(default=None, repr=False)
    # The challenge row as read by this request (a pending sign-in's), so an answer reads it
    # once; the answer checks it again and its spend is conditional all the same.
    record: Any = field(default=None, repr=False)
    _methods_by_type: dict[str, list[services.ChallengeMethod]] = field(
        default_factory=dict, repr=False
    )

    @property
    def methods(self) -> list[services.ChallengeMethod]:
        if self.loaded_methods is None:
            self.loaded_methods = services.challenge_methods(self.user, self.policy)
        return self.loaded_methods

    def methods_of(self, factor_type: str) -> list[services.ChallengeMethod]:
        """The methods of ``factor_type``, reading no other factor's devices if it can."""
        if self.loaded_methods is not None:
            return [m for m in self.loaded_methods if m.factor_type == factor_type]
        if factor_type not in self._methods_by_type:
            self._methods_by_type[factor_type] = services.challenge_methods(
                self.user, self.policy, only=factor_type
            )
        return self._methods_by_type[factor_type]

    @property
    def factor_types(self) -> list[str]:
        return list(dict.fromkeys(m.factor_type for m in self.methods))

    def method(self, factor_type: str, device_id: str = "") -> services.ChallengeMethod:
        """The method of ``factor_type`` (the device ``device_id`` for per-device factors)."""
        candidates = self.methods_of(factor_type)
        if not candidates:
            raise errors.FactorNotAllowed()
        if device_id and candidates[0].device is not None:
            for method in candidates:
                if method.device_id == device_id:
                    return method
            raise errors.FactorNotFound()
        return candidates[0]

    def chosen(self, factor_type: str | None, device_id: str = "") -> tuple[Any, bool]:
        """The method asked for, or the primary one; ``True`` if the ask was for none of ours."""
        if factor_type:
            for method in self.methods_of(factor_type):
                if method.device_id in ("", device_id):
                    return method, False
        if factor_type is None:
            return self.methods[0], False
        return self.methods[0], True

    def ensure_open(self) -> str:
        if not self.challenge_id and self.opener is not None:
            self.challenge_id, self.expires_at = self.opener()
        return self.challenge_id


@dataclass(frozen=True)
class Passed:
    """A challenge answered right: by what, where to go next, and anything to show once."""

    factor_type: str
    device: FactorModel
    next_url: str = ""
    new_recovery_codes: list[str] = field(default_factory=list)
    recovery_codes_left: int | None = None
    device_remembered: bool = False
    # Passed with a recovery code: the session is offered to sign the others out.
    recovered: bool = False


def open_pending(request: HttpRequest, answering: str | None = None) -> OpenChallenge | None:
    """The pending login's challenge; ``None`` if this session has no login waiting for one.

    ``answering``: the factor type the request answers with, if it says, so that only that
    factor's devices are read when the user has it.

    Raises ``ChallengeExpired`` when the pending login ended (timed out, password changed) and
    ``FactorNotAllowed`` when nothing the policy allows can answer it; either way it is dropped.
    """
    pending = login_state.get_pending(request)
    if pending is None or pending.reason != login_state.CHALLENGE:
        return None
    user = signin.pending_user(request)
    if user is None:
        if services.was_passed(pending.user_pk, pending.challenge_id):
            # The same answer sent twice at once: the first one signed the browser in, under
            # a new session key. Dropping this (old) session would delete that cookie.
            raise errors.ChallengeAlreadyVerified()
        login_state.drop(request)
        raise errors.ChallengeExpired()
    kind = TOKEN if login_state.carried(request) else SIGN_IN
    opened = OpenChallenge(
        request,
        kind,
        user,
        policy_for(user),
        None,
        pending.challenge_id,
        pending.expires_at,
        record=signin.pending_challenge(request),
    )
    answerable = answering is not None and opened.methods_of(answering)
    if not answerable and not opened.methods:
        login_state.drop(request)
        raise errors.FactorNotAllowed()
    return opened


def start(opened: OpenChallenge) -> None:
    """Open (or find) the challenge's record now; raises one of ``ENDED`` if it is over."""
    with _ending(opened):
        opened.ensure_open()


def prepare(opened: OpenChallenge, method: services.ChallengeMethod, *, send: bool = True) -> dict:
    """Make ``method`` ready to answer: WebAuthn options, or a code sent (unless ``send`` is
    false, or this sign-in already sent one that still works). Returns what a page shows."""
    with _ending(opened):
        return services.begin_challenge(
            opened.user,
            method.factor_type,
            opened.request,
            opened.factor_types,
            challenge_id=opened.ensure_open(),
            device_id=method.device_id,
            send=send,
        )


def send_code(opened: OpenChallenge, method: services.ChallengeMethod) -> None:
    """Send a new code to the method's phone or address; the previous one stops working."""
    with _ending(opened):
        services.send_challenge_code(
            opened.user,
            opened.ensure_open(),
            method.factor_type,
            method.device_id,
            opened.request,
        )


def answer(opened: OpenChallenge, factor_type: str, code: str, *, remember: bool = False) -> Passed:
    """Check an answer; on success sign the pending login in (or note the step-up).

    Raises ``InvalidCode`` (retry allowed), ``RateLimited`` (wait) or one of ``ENDED`` (the
    challenge is over: the pending login was dropped, or the session signed out).
    """
    request, user = opened.request, opened.user
    done: dict[str, Any] = {}

    def passed(verification: services.Verification) -> None:
        # In the answer's transaction: the sign-in and the spend commit together.
        next_url, remembered = "", False
        if opened.kind == STEP_UP:
            login_state.step_up_passed(request, verification.factor_type, verification.device)
            services.note_mfa_passed(user, request, noted=True)
        else:
            next_url = signin.complete(
                request,
                user,
                verification.factor_type,
                verification.device,
                verification,
                policy=opened.policy,
            )
            remembered = remember and opened.policy.trusted_devices_enabled
            if remembered:
                services.remember_device(user, request)
        done.update(next_url=next_url, device_remembered=remembered)

    with _ending(opened):
        verification = services.verify_challenge(
            user,
            opened.ensure_open(),
            factor_type,
            code,
            request,
            [factor_type] if opened.methods_of(factor_type) else opened.factor_types,
            challenge=opened.record,
            on_success=passed,
        )
    recovered = get_factor(verification.factor_type).is_fallback
    if recovered and opened.kind != TOKEN:
        # A used recovery code may mean a lost factor in someone else's hands (SES-06).
        login_state.offer_sign_out(request)
    return Passed(
        verification.factor_type,
        verification.device,
        new_recovery_codes=verification.new_recovery_codes,
        recovery_codes_left=verification.recovery_codes_left,
        recovered=recovered,
        **done,
    )


def end(opened: OpenChallenge, exc: errors.MFAError) -> None:
    """The challenge is over without success: nobody may keep guessing on this session.

    A challenge already passed is the same answer sent twice: the first one won, and this
    request leaves the session (and the cookie the winner set) alone.
    """
    if isinstance(exc, errors.ChallengeAlreadyVerified):
        return
    if opened.kind == STEP_UP:
        # Whoever holds this session could not prove it is the user: sign in again.
        logout(opened.request)
    else:
        login_state.drop(opened.request)


def cancel(request: HttpRequest) -> bool:
    """Drop the pending login, and its challenge with it; ``False`` if there was none."""
    pending = login_state.get_pending(request)
    if pending is None:
        return False
    # Ended server side too: a copy of the session, or of a token client's challenge token,
    # cannot answer it afterwards.
    services.end_pending_login(pending.user_pk, pending.challenge_id)
    login_state.drop(request)
    return True


def sign_in_with_passkey(request: HttpRequest, response: str) -> None:
    """A passkey (user verification included) is the whole login: check it, sign the user in.

    Raises ``InvalidCode`` or ``FactorNotAllowed``; the session stays as it was.
    """
    device = services.verify_passkey_login(request, response)
    signin.complete_passkey(request, device.user, device)


@contextmanager
def _ending(opened: OpenChallenge) -> Iterator[None]:
    """Run a step of ``opened``; if the challenge ended under it, end it here, then re-raise."""
    try:
        yield
    except ENDED as exc:
        end(opened, exc)
        raise
