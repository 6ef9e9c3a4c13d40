from .challenges import Challenge
from .codes import RateLimit, SentCode
from .events import MFAEvent
from .factors import (
    EmailFactor,
    FactorModel,
    RecoveryCode,
    RecoveryCodeSet,
    SMSFactor,
    TOTPFactor,
    WebAuthnCredential,
)
from .policies import ApplicationPolicy, FactorType, PolicyFields, Requirement, TenantPolicy
from .tenants import Tenant

__all__ = [
    "ApplicationPolicy",
    "Challenge",
    "EmailFactor",
    "FactorModel",
    "FactorType",
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
    "WebAuthnCredential",
]
