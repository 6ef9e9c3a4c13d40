"""The example site with mfa_app's own tenant model (MFA_TENANT_MODEL left unset)."""

from tests.settings import *  # noqa: F403

del MFA_TENANT_MODEL  # noqa: F821
MFA_TENANT_RESOLVER = "tests.tenant_resolvers.tenant_named_after_email_domain"
