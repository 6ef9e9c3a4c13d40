from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from phonenumber_field.formfields import PhoneNumberField

from . import errors
from .conf import app_settings
from .factors import Factor, second_factors
from .factors.base import normalize_code
from .models import SMSFactor


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "spellcheck": "false",
                # Digits and recovery codes read left to right, in Arabic or Hebrew too.
                "dir": "ltr",
            }
        ),
    )

    def __init__(self, *args, numeric: bool = True, digits: int | None = None, **kwargs) -> None:
        """``digits``: the answer is exactly that many digits; anything else is refused here,
        before it reaches a flow, so a typo costs the user no attempt."""
        super().__init__(*args, **kwargs)
        self.digits = digits
        if numeric or digits:
            self.fields["code"].widget.attrs.update(inputmode="numeric", pattern="[0-9 -]*")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if self.digits and not is_digits(code, self.digits):
            raise forms.ValidationError(wrong_shape(self.digits), code="code_shape")
        return code

    def forget_code(self) -> None:
        """Show the field empty again (after a wrong code), keeping its errors."""
        if self.is_bound:
            self.data = self.data.copy()
            self.data["code"] = ""


def is_digits(code: str, digits: int) -> bool:
    """``digits`` ASCII digits, once the spaces and dashes people type between groups are gone."""
    code = normalize_code(code)
    return code.isascii() and code.isdigit() and len(code) == digits


def wrong_shape(digits: int) -> str:
    return ngettext(
        "Enter the %(digits)d-digit code, using numbers only.",
        "Enter the %(digits)d-digit code, using numbers only.",
        digits,
    ) % {"digits": digits}


class ReauthenticateForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        # Enough for any passphrase; more is only work for the password hasher.
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or a code from your authenticator app"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        # Only an authenticator app's code is checked here: refuse other shapes before the
        # check, which counts against the user's lockout.
        if code and not is_digits(code, app_settings.TOTP_DIGITS):
            raise forms.ValidationError(wrong_shape(app_settings.TOTP_DIGITS), code="code_shape")
        return code

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("password") and not data.get("code") and not self.errors:
            raise forms.ValidationError(_("Enter your password or a code."))
        return data


def phone_factor() -> Factor:
    """The registered factor that stores phone numbers (``SMSFactor``): text messages."""
    return next(f for f in second_factors() if issubclass(f.model, SMSFactor))


class PhoneNumberForm(forms.Form):
    destination = PhoneNumberField(
        label=_("Mobile number"),
        help_text=_("Include the country code if the number is not local, e.g. +44 7911 123456."),
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True, "dir": "ltr"}
        ),
    )

    def __init__(self, *args, factor: Factor | None = None, **kwargs) -> None:
        """``factor``: the one whose rules a number must meet (default: ``phone_factor()``)."""
        super().__init__(*args, **kwargs)
        self.factor = factor

    def clean_destination(self) -> str:
        """E.164, and a number that can receive texts here (the SMS factor's rules)."""
        factor = self.factor or phone_factor()
        try:
            return factor.clean_destination(self.cleaned_data["destination"])
        except errors.MFAError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


class RenameFactorForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=64,
        help_text=_("A name that tells you which device this is, e.g. “Work phone”."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
