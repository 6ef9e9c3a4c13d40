from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from .. import errors
from ..flows import manage
from ..policy import EffectivePolicy


class MFAEnabledMixin:
    """Pages that exist only while the user's policy has MFA switched on."""

    request: HttpRequest

    def get_policy(self, user: Any) -> EffectivePolicy:
        try:
            return manage.policy_in_force(user)
        except errors.FactorNotAllowed as exc:
            raise Http404 from exc


class RecentAuthRequiredMixin(LoginRequiredMixin, MFAEnabledMixin):
    """Signed-in users only, who proved who they are within ``MFA_REAUTHENTICATION_TIMEOUT``."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            self.policy = self.get_policy(request.user)
            try:
                manage.require_recent_auth(request)
            except errors.ReauthenticationRequired as exc:
                return redirect_to_reauth(request, exc)
        return super().dispatch(request, *args, **kwargs)


def redirect_to_reauth(
    request: HttpRequest, refusal: errors.ReauthenticationRequired
) -> HttpResponseRedirect:
    """Prove it is you again, as the flow said: a second factor (step-up), or the password."""
    query = urlencode({"next": request.get_full_path()})
    with_challenge = refusal.extra.get("reauthenticate_with") == "challenge"
    target = "mfa_app:step_up" if with_challenge else "mfa_app:reauthenticate"
    return HttpResponseRedirect(f"{reverse(target)}?{query}")
