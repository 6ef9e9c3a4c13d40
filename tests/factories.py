"""Factories for every model the tests create: one place, any user model."""

import time

import factory
import pyotp
from django.contrib.auth import get_user_model

from example_project.accounts.models import Membership, Organization
from mfa_app.factors.totp import generate_secret
from mfa_app.models import EmailFactor, SMSFactor, TenantPolicy, TOTPFactor

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = (get_user_model().USERNAME_FIELD,)

    password = factory.django.Password(PASSWORD)

    @factory.lazy_attribute_sequence
    def email(self, n):
        return f"user{n}@example.com"

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        model = get_user_model()
        if model.USERNAME_FIELD != "email":
            kwargs.setdefault(model.USERNAME_FIELD, kwargs["email"].split("@")[0])
        return kwargs


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TOTPFactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPFactor

    user = factory.SubFactory(UserFactory)
    name = "Phone"
    key = factory.LazyFunction(generate_secret)
    confirmed = True
    is_primary = True


class SMSFactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SMSFactor

    user = factory.SubFactory(UserFactory)
    name = "Mobile"
    number = "+14155552671"
    confirmed = True
    is_primary = True


class EmailFactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailFactor

    user = factory.SubFactory(UserFactory)
    name = "Email"
    email = factory.LazyAttribute(lambda o: o.user.email)
    confirmed = True
    is_primary = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)


class TenantPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantPolicy

    tenant = factory.SubFactory(OrganizationFactory)
    override = True


def code_for(device_or_secret: TOTPFactor | str, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or ``offset_steps`` periods away)."""
    key = getattr(device_or_secret, "key", device_or_secret)
    return pyotp.TOTP(key).at(int(time.time()) + offset_steps * 30)


class InvitationFactory(factory.django.DjangoModelFactory):
    """An open invitation to an organisation (the example site's tenant)."""

    class Meta:
        model = "accounts.Invitation"

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    organization = factory.SubFactory(OrganizationFactory)
