"""The Django admin for mfa_app: policies, each user's MFA status, and the audit log."""

from . import events, policies, webhooks  # noqa: F401  (register the ModelAdmins)
from .users import MFAUserAdminMixin, extend_user_admin

__all__ = ["MFAUserAdminMixin", "extend_user_admin"]
