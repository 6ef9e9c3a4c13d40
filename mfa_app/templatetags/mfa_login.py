"""Tags for a site's own templates: what mfa_app knows about the visitor's sign-in.

``{% load mfa_login %}{% pending_login as pending %}``: while a sign-in waits for its second
step, ``request.user`` is anonymous (the session is demoted), so a nav that only asks
``user.is_authenticated`` offers "Log in" to someone half-way through logging in. ``pending``
says so instead, with where to finish (``pending.continue_url``) and where to cancel it
(``pending.cancel_url``, a POST).
"""

from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse

from .. import login_state

register = template.Library()


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in waiting for its second step."""

    # ``"challenge"``: a code or key is asked for; ``"enroll"``: a first factor must be added.
    reason: str
    continue_url: str
    cancel_url: str

    @property
    def enrolling(self) -> bool:
        return self.reason == login_state.ENROLL


@register.simple_tag(takes_context=True)
def pending_login(context: Any) -> PendingSignIn | None:
    """The visitor's sign-in that waits for its second step; ``None`` if there is none.

    Needs ``request`` in the context (the ``request`` context processor). A sign-in that ran
    out of time counts as none: the visitor must log in again.
    """
    request = context.get("request")
    pending = login_state.get_pending(request) if request is not None else None
    if pending is None or pending.expired:
        return None
    enrolling = pending.reason == login_state.ENROLL
    return PendingSignIn(
        reason=pending.reason,
        continue_url=reverse("mfa_app:enroll" if enrolling else "mfa_app:challenge"),
        cancel_url=reverse("mfa_app:cancel"),
    )
