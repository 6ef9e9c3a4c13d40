"""One exception family; each error has a stable code and one user-facing message."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

MESSAGES = {
    "invalid_code": _("That code is not valid. Check it and try again."),
    "challenge_expired": _("This sign-in took too long. Please sign in again."),
    "challenge_already_verified": _("This sign-in was already completed."),
    "locked_out": _("Too many wrong codes. Please sign in again."),
    "factor_not_found": _("That factor does not exist."),
    "factor_not_allowed": _("That factor is not allowed by your organisation's policy."),
    "last_factor_required": _(
        "Your organisation requires multi-factor authentication: add another factor "
        "before removing your last one."
    ),
    "recovery_codes_disabled": _("Recovery codes are turned off for your account."),
    "reauthentication_required": _("Please confirm it is you before making this change."),
    "invalid_phone_number": _("Enter a valid mobile phone number."),
    "invalid_email_address": _("Your account has no valid email address to send a code to."),
    "rate_limited": _("Too many requests. Please wait and try again."),
    "mfa_wait": _("Too many wrong codes. Please wait before you try again."),
    "mfa_locked": _(
        "Too many wrong codes: two-step verification is locked for this account. "
        "Try again later or contact support."
    ),
    "delivery_failed": _("We could not send the code. Please try again later."),
    "already_enrolled": _("You already use this for two-step verification."),
    "invalid_name": _("Enter a name of at most %(max_length)s characters."),
    "bypass_reason": _("Give a reason for the bypass."),
    "bypass_until": _("The bypass must end in the future."),
    "bypass_too_long": ngettext_lazy(
        "A bypass lasts at most %(days)d day.", "A bypass lasts at most %(days)d days.", "days"
    ),
    "bypass_self": _("Nobody can grant a bypass to themselves: ask another staff member."),
    "grace_period_over": _("Two-step verification can no longer be postponed: set it up now."),
    "reauthentication_failed": _("That did not match. Try again."),
    "challenge_not_found": _("This is not the sign-in in progress. Check the status and retry."),
    "busy": _("The site is busy. Please try again in a moment."),
    "mfa_step_up_required": _("Confirm it is you with two-step verification to continue."),
    "mfa_enrollment_required": _(
        "This needs a two-step verification factor you have not added: add one first."
    ),
    # The JSON API's own refusals.
    "invalid_request": _("The request is malformed: check its JSON body and fields."),
    "not_authenticated": _("Please sign in first."),
    "csrf_failed": _(
        "CSRF verification failed: send the csrftoken cookie's value in the X-CSRFToken header."
    ),
    "method_not_allowed": _("This method is not allowed here."),
    "not_found": _("There is no such API endpoint."),
    # The staff API's.
    "permission_denied": _("You do not have permission to do this."),
    "user_not_found": _("There is no user with this id."),
    "tenant_not_found": _("There is no tenant with this id."),
    "bypass_not_found": _("This user has no MFA bypass running."),
    "invalid_policy": _("A policy setting is not valid: nothing was changed."),
    "invalid_query": _("A query parameter is not valid."),
}


class MFAError(Exception):
    code = "mfa_error"
    status = 400

    def __init__(self, message: str | None = None, **extra: object) -> None:
        if message is None:
            message = str(MESSAGES.get(self.code, self.code))
            # Default messages may name a value from ``extra``, such as a length limit.
            message = message % extra if "%(" in message else message
        self.message = message
        self.extra = extra
        super().__init__(self.message)


class InvalidCode(MFAError):
    code = "invalid_code"


class ChallengeExpired(MFAError):
    code = "challenge_expired"


class ChallengeAlreadyVerified(MFAError):
    code = "challenge_already_verified"
    status = 409


class LockedOut(MFAError):
    code = "locked_out"
    status = 429


class FactorNotFound(MFAError):
    code = "factor_not_found"
    status = 404


class FactorNotAllowed(MFAError):
    code = "factor_not_allowed"
    status = 403


class LastFactorRequired(MFAError):
    code = "last_factor_required"
    status = 409


class RecoveryCodesDisabled(MFAError):
    code = "recovery_codes_disabled"
    status = 403


class ReauthenticationRequired(MFAError):
    """A sensitive change needs a fresh proof of identity (``MFA_REAUTHENTICATION_TIMEOUT``)."""

    code = "reauthentication_required"
    status = 403


class ReauthenticationFailed(MFAError):
    code = "reauthentication_failed"


class ChallengeNotFound(MFAError):
    """The challenge named is not this session's (another sign-in's, or an old one)."""

    code = "challenge_not_found"
    status = 404


class Busy(MFAError):
    """The database was locked too long to answer (SQLite's one writer): nothing was done.

    ``extra["retry_after"]`` says how many seconds to wait before sending the same request.
    """

    code = "busy"
    status = 503


class StepUpRequired(MFAError):
    """The session must pass MFA again (``extra["url"]``: the step-up page, coming back)."""

    code = "mfa_step_up_required"
    status = 401


class EnrollmentRequired(MFAError):
    """No factor of the user's can answer a step-up (``extra["url"]``: where to add one)."""

    code = "mfa_enrollment_required"
    status = 403


class InvalidPhoneNumber(MFAError):
    code = "invalid_phone_number"


class InvalidEmailAddress(MFAError):
    code = "invalid_email_address"


class RateLimited(MFAError):
    """Too many attempts or sends; ``extra["retry_after"]`` says how many seconds to wait."""

    code = "rate_limited"
    status = 429


class DeliveryFailed(MFAError):
    """The SMS or email provider did not take the message; nothing was saved or spent."""

    code = "delivery_failed"
    status = 502


class AlreadyEnrolled(MFAError):
    code = "already_enrolled"
    status = 409


class InvalidName(MFAError):
    code = "invalid_name"


class GracePeriodOver(MFAError):
    code = "grace_period_over"
    status = 403


class InvalidBypass(MFAError):
    code = "invalid_bypass"
