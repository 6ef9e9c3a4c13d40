"""Codes by text message, sent through ``MFA_SMS_BACKEND`` (Twilio in production)."""

from typing import Any

import phonenumbers
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import to_python

from .. import errors
from ..conf import app_settings
from ..models import FactorType, SMSFactor
from ..senders import send_sms
from .base import register
from .codes import CodeFactor

# Numbers that reach a phone that reads texts. Premium-rate and shared-cost numbers are how SMS
# pumping fraud earns its money; fixed lines cannot read a text at all.
TEXTABLE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
MESSAGES = {
    "not_mobile": _("This number cannot receive text messages. Enter a mobile number."),
    "region": _("We cannot send text messages to numbers in this country."),
}


@register
class SMS(CodeFactor):
    type = FactorType.SMS
    label = _("Text message")
    add_label = _("Add text message")
    model = SMSFactor
    destination_field = "number"
    destination_input = "phone_number"
    icon = "phone"
    description = _("Get a code by text message on your mobile phone.")
    needs = _("Needs a mobile phone that can receive text messages.")
    enroll_template = "mfa_app/enroll_sms.html"
    enroll_url_name = "mfa_app:enroll_sms"
    order = 30
    policy_name = FactorType.SMS

    def switch_label(self, method: Any, current: str = "") -> str:
        return self._switch_label(gettext("Text a code to %(to)s"), method.device)

    def destination(self, device: SMSFactor) -> str:
        return device.number.as_e164

    def clean_destination(self, value: Any, user: Any = None) -> str:
        """E.164 for ``value`` (``PHONENUMBER_DEFAULT_REGION`` applies), if it can get a text."""
        number = to_python(value)
        if number is None or not getattr(number, "is_valid", lambda: False)():
            raise errors.InvalidPhoneNumber()
        if phonenumbers.number_type(number) not in TEXTABLE:
            raise errors.InvalidPhoneNumber(str(MESSAGES["not_mobile"]))
        allowed = app_settings.SMS_ALLOWED_REGIONS
        if allowed is not None and phonenumbers.region_code_for_number(number) not in allowed:
            raise errors.InvalidPhoneNumber(str(MESSAGES["region"]))
        return number.as_e164

    def deliver(self, user: Any, destination: str, code: str, request: Any) -> None:
        context = self.message_context(user, code, request)
        body = render_to_string("mfa_app/sms/code.txt", context, request)
        send_sms(destination, body.strip())
