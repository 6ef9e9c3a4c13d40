from .challenges import Challenge
from .codes import RateLimit, SentCode
from .devices import LoginRecord, TrustedDevice, UserState
from .events import MFAEvent
from .factors import (
    EmailFactor,
    FactorModel,
    ImportedRecord,
    RecoveryCode,
    RecoveryCodeSet,
    SMSFactor,
    TOTPFactor,
    WebAuthnCredential,
)
from .policies import ApplicationPolicy, FactorType, PolicyFields, Requirement, TenantPolicy
from .tenants import Tenant
from .tokens import TokenVerification
from .webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApplicationPolicy",
    "Challenge",
    "EmailFactor",
    "FactorModel",
    "FactorType",
    "ImportedRecord",
    "LoginRecord",
    "MFAEvent",
    "PolicyFields",
    "RateLimit",
    "RecoveryCode",
    "RecoveryCodeSet",
    "Requirement",
    "SMSFactor",
    "SentCode",
    "TOTPFactor",
    "Tenant",
    "TenantPolicy",
    "TokenVerification",
    "TrustedDevice",
    "UserState",
    "WebAuthnCredential",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
