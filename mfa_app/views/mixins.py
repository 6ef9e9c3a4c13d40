from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from .. import login_state, services
from ..policy import EffectivePolicy, policy_for


class MFAEnabledMixin:
    """Pages that exist only while the user's policy has MFA switched on."""

    request: HttpRequest

    def get_policy(self, user: Any) -> EffectivePolicy:
        policy = policy_for(user)
        if policy.disabled:
            raise Http404
        return policy


class RecentAuthRequiredMixin(LoginRequiredMixin, MFAEnabledMixin):
    """Signed-in users only, who proved who they are within ``MFA_REAUTHENTICATION_TIMEOUT``."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            self.policy = self.get_policy(request.user)
            if not login_state.recently_authenticated(request):
                return redirect_to_reauth(request)
        return super().dispatch(request, *args, **kwargs)


def redirect_to_reauth(request: HttpRequest) -> HttpResponseRedirect:
    """Prove it is you again: a second factor if the user has one, else the password."""
    query = urlencode({"next": request.get_full_path()})
    target = (
        "mfa_app:step_up" if services.active_factors(request.user) else "mfa_app:reauthenticate"
    )
    return HttpResponseRedirect(f"{reverse(target)}?{query}")
