from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm


def _signup_fields() -> tuple[str, ...]:
    model = get_user_model()
    names = [model.USERNAME_FIELD]
    if model.get_email_field_name() != model.USERNAME_FIELD:
        names.append(model.get_email_field_name())
    return tuple(names)


class LoginForm(AuthenticationForm):
    """Django's form, with the username field offering the browser's passkeys (autofill)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "webauthn" last: the browser lists saved passkeys beside saved usernames.
        self.fields["username"].widget.attrs["autocomplete"] = "username webauthn"


class SignupForm(BaseUserCreationForm):
    """Sign-up for whatever the user model is (username or email login)."""

    class Meta(BaseUserCreationForm.Meta):
        model = get_user_model()
        fields = _signup_fields()


class AcceptInvitationForm(SignupForm):
    """The invited address is fixed by the invitation, so only the rest is asked for."""

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        email_field = get_user_model().get_email_field_name()
        if email_field in self.fields:
            self.fields[email_field].disabled = True
            self.initial[email_field] = email
            self.fields[email_field].widget = forms.EmailInput()
