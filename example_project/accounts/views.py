from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.generic import FormView

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
