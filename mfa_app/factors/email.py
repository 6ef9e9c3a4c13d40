"""Codes by email, sent with Django's email backend to the user's own address."""

import logging
import smtplib
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import errors
from ..models import EmailFactor, FactorType
from .base import register
from .codes import CodeFactor

logger = logging.getLogger("mfa_app.email")
MESSAGES = {
    "not_yours": _("Codes can only go to your account's email address."),
}


def email_address_for(user: Any) -> str:
    """The address of ``user``'s account, which the site has verified (LC-08)."""
    return getattr(user, user.get_email_field_name(), "") or ""


@register
class Email(CodeFactor):
    type = FactorType.EMAIL
    label = _("Email")
    add_label = _("Add email")
    model = EmailFactor
    destination_field = "email"
    icon = "mail"
    description = _("Get a code by email at your account's address.")
    needs = _("Needs access to your email inbox.")
    enroll_template = "mfa_app/enroll_email.html"
    enroll_url_name = "mfa_app:enroll_email"
    order = 40
    policy_name = FactorType.EMAIL

    def switch_label(self, method: Any, current: str = "") -> str:
        return self._switch_label(gettext("Email a code to %(to)s"), method.device)

    def can_enroll(self, user: Any) -> bool:
        """Only with an address, and only once: the account has a single address."""
        address = email_address_for(user)
        return bool(address) and not self.devices(user).filter(email__iexact=address).exists()

    def clean_destination(self, value: Any, user: Any = None) -> str:
        """The account's own address: codes never go to an address the user just typed."""
        address = email_address_for(user) if user is not None else ""
        try:
            validate_email(address)
        except ValidationError as exc:
            raise errors.InvalidEmailAddress() from exc
        if value and str(value).strip().lower() != address.lower():
            raise errors.InvalidEmailAddress(str(MESSAGES["not_yours"]))
        return address

    def deliver(self, user: Any, destination: str, code: str, request: Any) -> None:
        context = self.message_context(user, code, request)
        subject = render_to_string("mfa_app/email/code_subject.txt", context, request)
        message = EmailMultiAlternatives(
            " ".join(subject.split()),
            render_to_string("mfa_app/email/code.txt", context, request),
            to=[destination],
        )
        message.attach_alternative(
            render_to_string("mfa_app/email/code.html", context, request), "text/html"
        )
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("Could not send a code by email: %s", type(exc).__name__)
            raise errors.DeliveryFailed() from exc
