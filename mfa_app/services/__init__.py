"""The Python API: every MFA state change, for pages, the JSON API, the admin and commands.

Each function that changes state also writes the audit event (and so sends the signal).
"""

from .challenges import (
    Verification,
    begin_challenge,
    end_pending_logins,
    finish_enrollment,
    is_pending,
    start_challenge,
    verify_challenge,
)
from .enrollment import (
    TOTPSetup,
    enroll_totp,
    enroll_webauthn,
    new_totp_secret,
    passkey_login_options,
    totp_setup,
    verify_passkey_login,
    webauthn_registration_options,
)
from .management import (
    check_identity,
    get_user_factor,
    remove_factor,
    reset_mfa,
)
from .recovery_codes import (
    recovery_codes_after_enrollment,
    regenerate_recovery_codes,
)
from .status import (
    CHALLENGE,
    ENROLL,
    RECOVERY,
    Kind,
    MFAStatus,
    active_factors,
    challenge_factor_types,
    factor_type_of,
    list_factors,
    login_requirement,
    mfa_status,
    recovery_codes_remaining,
)

__all__ = [
    "CHALLENGE",
    "ENROLL",
    "RECOVERY",
    "Kind",
    "MFAStatus",
    "TOTPSetup",
    "Verification",
    "active_factors",
    "begin_challenge",
    "challenge_factor_types",
    "check_identity",
    "end_pending_logins",
    "enroll_totp",
    "enroll_webauthn",
    "factor_type_of",
    "finish_enrollment",
    "get_user_factor",
    "is_pending",
    "list_factors",
    "login_requirement",
    "mfa_status",
    "new_totp_secret",
    "passkey_login_options",
    "recovery_codes_after_enrollment",
    "recovery_codes_remaining",
    "regenerate_recovery_codes",
    "remove_factor",
    "reset_mfa",
    "start_challenge",
    "totp_setup",
    "verify_challenge",
    "verify_passkey_login",
    "webauthn_registration_options",
]
