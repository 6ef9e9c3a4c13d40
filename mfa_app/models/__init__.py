from .challenges import Challenge
from .events import MFAEvent
from .factors import FactorModel, RecoveryCode, RecoveryCodeSet, TOTPFactor, WebAuthnCredential
from .policies import ApplicationPolicy, FactorType, PolicyFields, Requirement, TenantPolicy
from .tenants import Tenant

__all__ = [
    "ApplicationPolicy",
    "Challenge",
    "FactorModel",
    "FactorType",
    "MFAEvent",
    "PolicyFields",
    "RecoveryCode",
    "RecoveryCodeSet",
    "Requirement",
    "TOTPFactor",
    "Tenant",
    "TenantPolicy",
    "WebAuthnCredential",
]
