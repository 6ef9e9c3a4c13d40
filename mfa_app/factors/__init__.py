from . import email, recovery, sms, totp, webauthn  # noqa: F401  (register the built-in factors)
from .base import (
    EnrollmentProof,
    Factor,
    enrollable_factors,
    factor_for_device,
    fallback_factor,
    get_factor,
    policy_names,
    registered_factors,
    second_factors,
)

__all__ = [
    "EnrollmentProof",
    "Factor",
    "enrollable_factors",
    "factor_for_device",
    "fallback_factor",
    "get_factor",
    "policy_names",
    "registered_factors",
    "second_factors",
]
