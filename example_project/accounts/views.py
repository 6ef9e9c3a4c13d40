import json

from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from mfa_app.api.serializers import pending_response
from mfa_app.decorators import mfa_required

from .forms import AcceptInvitationForm, SignupForm
from .models import Invitation, Membership

BACKEND = "django.contrib.auth.backends.ModelBackend"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html")


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/private.html")


@mfa_required(max_age=300)
def sensitive(request: HttpRequest) -> HttpResponse:
    """A page that needs a second factor within the last five minutes."""
    return render(request, "accounts/sensitive.html")


def api_me(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": {"code": "not_authenticated"}}, status=401)
    return JsonResponse({"username": request.user.get_username()})


@ensure_csrf_cookie
def self_hosted(request: HttpRequest) -> HttpResponse:
    """The shell of a front end of the site's own, which signs in through the JSON API."""
    # The script finds every endpoint from the API's root (the app may be mounted anywhere).
    api_root = reverse("mfa_app:api:status").removesuffix("status/")
    return render(request, "accounts/self_hosted.html", {"api_root": api_root})


# An empty page that says nothing of the user: a half-finished login may reload it.
self_hosted.mfa_pending_allowed = True


@require_POST
def api_login(request: HttpRequest) -> JsonResponse:
    """The site's own JSON login (the password step); mfa_app takes over from ``login()``.

    CSRF-checked like any POST. A login that needs MFA gets mfa_app's 401 status body.
    """
    try:
        data = json.loads(request.body)
        username, password = str(data["username"]), str(data["password"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": {"code": "invalid_request"}}, status=400)
    user = authenticate(request, username=username, password=password)
    if user is None:
        message = "Your username and password didn't match. Please try again."
        return JsonResponse({"error": {"code": "invalid_login", "message": message}}, status=400)
    login(request, user)
    if not request.user.is_authenticated:
        return pending_response(request)
    return JsonResponse({"status": "AUTHENTICATED"})


class SignupView(FormView):
    """Sign up and log straight in: mfa_app must still apply a REQUIRED policy."""

    template_name = "accounts/signup.html"
    form_class = SignupForm

    def form_valid(self, form: SignupForm) -> HttpResponse:
        user = form.save()
        login(self.request, user, backend=BACKEND)
        return redirect("home")


class AcceptInvitationView(FormView):
    """Accept an invitation: create the account, join the organisation, log in."""

    template_name = "accounts/accept_invitation.html"
    form_class = AcceptInvitationForm

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.invitation = get_object_or_404(
            Invitation, token=kwargs["token"], accepted_at__isnull=True
        )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "email": self.invitation.email}

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "invitation": self.invitation}

    def form_valid(self, form: AcceptInvitationForm) -> HttpResponse:
        with transaction.atomic():
            user = form.save(commit=False)
            setattr(user, user.get_email_field_name(), self.invitation.email)
            user.save()
            Membership.objects.create(user=user, organization=self.invitation.organization)
            self.invitation.accepted_at = timezone.now()
            self.invitation.save(update_fields=["accepted_at"])
        login(self.request, user, backend=BACKEND)
        return redirect("home")
