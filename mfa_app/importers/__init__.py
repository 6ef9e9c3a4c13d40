"""Importers from other Django MFA packages (``manage.py mfa_import --from ...``).

Each peer has its module; it is imported only when that peer is asked for, so mfa_app never
imports a peer's code otherwise.
"""

from importlib import import_module

from .base import Importer

SOURCES = {
    "django_otp": "mfa_app.importers.django_otp.DjangoOTPImporter",
    "two_factor": "mfa_app.importers.two_factor.TwoFactorImporter",
    "allauth": "mfa_app.importers.allauth.AllauthImporter",
    "mfa2": "mfa_app.importers.mfa2.MFA2Importer",
}


def importer_class(source: str) -> type[Importer]:
    module, name = SOURCES[source].rsplit(".", 1)
    return getattr(import_module(module), name)
