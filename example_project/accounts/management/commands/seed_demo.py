"""Create the demo users (idempotent) and print how to log in as each."""

import pyotp
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from example_project.accounts.models import Membership, Organization
from mfa_app import services
from mfa_app.models import (
    ApplicationPolicy,
    EmailFactor,
    FactorType,
    Requirement,
    SMSFactor,
    TenantPolicy,
    TOTPFactor,
)

PASSWORD = "demo-password-123"
# Fixed so the demo's authenticator entry survives re-seeding; never do this for real users.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Command(BaseCommand):
    help = "Create demo users for the example site."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        policy = ApplicationPolicy.load()
        # The demo shows every factor; a real site decides whether SMS and email are worth it.
        policy.allowed_factors = list(FactorType.values)
        policy.save()
        acme, _ = Organization.objects.get_or_create(name="Acme (MFA required)")
        TenantPolicy.objects.update_or_create(
            tenant=acme, defaults={"override": True, "requirement": Requirement.REQUIRED}
        )
        enrolled = self._user(User, "alice", "alice@example.com")
        self._user(User, "bob", "bob@example.com")
        carol = self._user(User, "carol", "carol@example.com")
        Membership.objects.get_or_create(user=carol, defaults={"organization": acme})
        self._user(User, "admin", "admin@example.com", staff=True)
        dave = self._user(User, "dave", "dave@example.com")
        if not SMSFactor.objects.filter(user=dave).exists():
            SMSFactor.objects.create(
                user=dave,
                name="Demo mobile",
                number="+14155552671",
                confirmed=True,
                is_primary=True,
            )
            EmailFactor.objects.create(
                user=dave, name="Demo inbox", email="dave@example.com", confirmed=True
            )
        if not TOTPFactor.objects.filter(user=enrolled).exists():
            TOTPFactor.objects.create(
                user=enrolled,
                name="Demo phone",
                key=DEMO_TOTP_SECRET,
                confirmed=True,
                is_primary=True,
            )
            codes = services.recovery_codes_after_enrollment(enrolled)
        else:
            codes = []
        now = pyotp.TOTP(DEMO_TOTP_SECRET).now()
        self.stdout.write(
            "\nDemo site: http://127.0.0.1:8000/\n"
            f"All passwords: {PASSWORD}\n"
            f"  alice  enrolled in TOTP (secret {DEMO_TOTP_SECRET}; current code {now})\n"
            "  bob    no factor yet (application policy: OPTIONAL)\n"
            "  carol  member of Acme, whose policy is REQUIRED: enrolls at login\n"
            "  dave   enrolled in SMS and email: codes are printed in the server's console\n"
            "  admin  staff and superuser: /admin/ (policies, audit log)\n"
        )
        if codes:
            self.stdout.write("alice's recovery codes: " + ", ".join(codes) + "\n")
        self.stdout.write(
            'Codes for alice: .venv/bin/python -c "import pyotp; '
            f"print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"\n"
        )

    def _user(self, User, username: str, email: str, staff: bool = False):
        field = User.USERNAME_FIELD
        ident = email if field == User.get_email_field_name() else username
        user = User._default_manager.filter(**{field: ident}).first()
        if user is None:
            extra = {User.get_email_field_name(): email} if field != "email" else {}
            if staff:
                user = User._default_manager.create_superuser(ident, password=PASSWORD, **extra)
            else:
                user = User._default_manager.create_user(ident, password=PASSWORD, **extra)
        return user
