from . import email, recovery, sms, totp, webauthn  # noqa: F401  (register the built-in factors)
from .base import Factor, get_factor, registered_factors

__all__ = ["Factor", "get_factor", "registered_factors"]
