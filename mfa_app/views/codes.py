"""Adding a phone (SMS) or the account's email address: send a code, then confirm it."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from .. import errors
from ..factors import get_factor
from ..factors.email import email_address_for
from ..flows import enrollment
from ..forms import CodeForm, PhoneNumberForm
from ..masking import mask_destination
from ..models import FactorType
from .challenge import code_minutes, resend_message, send_refused
from .enroll import EnrollmentMixin


class CodeEnrollView(EnrollmentMixin, View):
    """Two steps on one URL: choose where the code goes and send it; enter the code."""

    factor_type: str

    def get(self, request: HttpRequest) -> HttpResponse:
        if self.sent_to() is None or "change" in request.GET:
            return self.render_destination(self.destination_form())
        return self.render_code(self.code_form())

    def post(self, request: HttpRequest) -> HttpResponse:
        if "send" in request.POST:
            return self.send(self.destination_form(request.POST))
        destination = self.sent_to()
        if destination is None:
            return HttpResponseRedirect(request.path)
        if "resend" in request.POST:
            return self.resend(destination)
        return self.confirm(destination, self.code_form(request.POST))

    # --- steps ------------------------------------------------------------------------------

    def send(self, form: forms.Form) -> HttpResponse:
        if not form.is_valid():
            return self.render_destination(form)
        try:
            enrollment.send_code(
                self.enrollment, self.factor_type, form.cleaned_data.get("destination")
            )
        except errors.MFAError as exc:
            form.add_error(None, resend_message(exc))
            return self.render_destination(form)
        return HttpResponseRedirect(self.request.path)

    def resend(self, destination: str) -> HttpResponse:
        try:
            enrollment.send_code(self.enrollment, self.factor_type, destination)
        except errors.MFAError as exc:
            return self.render_code(self.code_form(), **send_refused(exc))
        messages.success(
            self.request, _("We sent a new code to %(to)s.") % {"to": mask_destination(destination)}
        )
        return HttpResponseRedirect(self.request.path)

    def confirm(self, destination: str, form: CodeForm) -> HttpResponse:
        if not form.is_valid():
            return self.render_code(form)
        try:
            enrolled = enrollment.confirm_code(
                self.enrollment, self.factor_type, destination, form.cleaned_data["code"]
            )
        except errors.ChallengeExpired as exc:
            return self.restart(exc)
        except errors.MFAError as exc:
            form.add_error("code", exc.message)
            form.forget_code()
            return self.render_code(form, attempts_left=exc.extra.get("attempts_left"))
        return self.finish(enrolled)

    # --- state and pages --------------------------------------------------------------------

    def code_form(self, data: Any = None) -> CodeForm:
        return CodeForm(data, digits=get_factor(self.factor_type).answer_digits)

    def sent_to(self) -> str | None:
        """Where this user's enrollment code went, if one was sent from this session."""
        return enrollment.code_sent_to(self.enrollment, self.factor_type)

    def destination_form(self, data: Any = None) -> forms.Form:
        raise NotImplementedError

    def render_destination(self, form: forms.Form) -> HttpResponse:
        return self.render_page(form, step="destination")

    def render_code(self, form: CodeForm, **extra: Any) -> HttpResponse:
        return self.render_page(
            form, step="code", sent_to=mask_destination(self.sent_to()), **extra
        )

    def render_page(self, form: forms.Form, **context: Any) -> HttpResponse:
        context = {
            "form": form,
            "pending": self.pending,
            "factor_type": self.factor_type,
            "minutes": code_minutes(),
            **context,
        }
        refused = context.get("send_problem") or context.get("resend_wait")
        status = 400 if form.errors or refused else 200
        return render(self.request, self.template_name, context, status=status)


class SMSEnrollView(CodeEnrollView):
    template_name = "mfa_app/enroll_sms.html"
    factor_type = FactorType.SMS

    def destination_form(self, data: Any = None) -> forms.Form:
        return PhoneNumberForm(data)


class EmailEnrollView(CodeEnrollView):
    template_name = "mfa_app/enroll_email.html"
    factor_type = FactorType.EMAIL

    def destination_form(self, data: Any = None) -> forms.Form:
        # Codes only go to the account's own address: there is nothing to type.
        return forms.Form(data)

    def render_page(self, form: forms.Form, **context: Any) -> HttpResponse:
        address = email_address_for(self.user)
        context["address"] = mask_destination(address) if address else ""
        context["already_enrolled"] = bool(address) and not get_factor(self.factor_type).can_enroll(
            self.user
        )
        return super().render_page(form, **context)
