"""Create the demo users (idempotent) and print, from the database, what each has now."""

import os

import pyotp
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from example_project.accounts.models import Membership, Organization
from mfa_app import services
from mfa_app.factors.base import factor_for_device
from mfa_app.models import (
    ApplicationPolicy,
    EmailFactor,
    FactorType,
    Requirement,
    SMSFactor,
    TenantPolicy,
    TOTPFactor,
)
from mfa_app.policy import policy_for

PASSWORD = "demo-password-123"
# Fixed so the demo's authenticator entry survives re-seeding; never do this for real users.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
USERS = ["alice", "bob", "carol", "dave", "admin"]
NOTES = {
    "alice": "",
    "bob": "",
    "carol": "member of Acme, whose policy is REQUIRED: enrolls at login",
    "dave": "SMS and email codes are printed in the server's console",
    "admin": "staff and superuser: /admin/ (policies, audit log)",
}


class Command(BaseCommand):
    help = "Create the demo users (once) and list what each of them has now."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--url",
            default=f"http://localhost:{os.environ.get('PORT') or 8000}/",
            help="The address printed for the demo (WebAuthn needs localhost, not 127.0.0.1).",
        )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        fresh = self._seed(User)
        self.stdout.write(f"\nDemo site: {options['url']}\nAll passwords: {PASSWORD}\n")
        for username in USERS:
            user = self._find(User, username)
            if user is not None:
                self.stdout.write(self._describe(username, user) + "\n")
        for username, codes in fresh.items():
            self.stdout.write(f"{username}'s recovery codes (shown once): {', '.join(codes)}\n")
        self.stdout.write(
            'Codes for alice: .venv/bin/python -c "import pyotp; '
            f"print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"\n"
        )

    def _seed(self, User) -> dict[str, list[str]]:
        """Create whatever is missing; return the recovery codes made now (shown only once)."""
        policy = ApplicationPolicy.load()
        # The demo shows every factor; a real site decides whether SMS and email are worth it.
        policy.allowed_factors = list(FactorType.values)
        policy.save()
        acme, _ = Organization.objects.get_or_create(name="Acme (MFA required)")
        TenantPolicy.objects.update_or_create(
            tenant=acme, defaults={"override": True, "requirement": Requirement.REQUIRED}
        )
        alice, new_alice = self._user(User, "alice")
        self._user(User, "bob")
        carol, _ = self._user(User, "carol")
        Membership.objects.get_or_create(user=carol, defaults={"organization": acme})
        self._user(User, "admin", staff=True)
        dave, new_dave = self._user(User, "dave")
        # Factors only for users created now: what a person changed in the demo stays changed.
        fresh = {}
        if new_dave:
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
            fresh["dave"] = services.recovery_codes_after_enrollment(dave)
        if new_alice:
            TOTPFactor.objects.create(
                user=alice, name="Demo phone", key=DEMO_TOTP_SECRET, confirmed=True, is_primary=True
            )
            fresh["alice"] = services.recovery_codes_after_enrollment(alice)
        return fresh

    def _describe(self, username: str, user) -> str:
        """One line: the user's factors, recovery codes and policy, as they are now."""
        status = services.mfa_status(user)
        parts = []
        for device in status.factors:
            label = str(factor_for_device(device).label)
            text = f"{label} “{device.name}”" if device.name else label
            if isinstance(device, TOTPFactor) and device.key == DEMO_TOTP_SECRET:
                text += f" (secret {DEMO_TOTP_SECRET}, current code {pyotp.TOTP(device.key).now()})"
            parts.append(text)
        has = "; ".join(parts) if parts else "no factor yet"
        if status.factors:
            has += f"; {status.recovery_codes_remaining} recovery codes left"
        requirement = str(policy_for(user).requirement)
        note = NOTES.get(username, "")
        line = f"  {username:<7}{has} (policy: {requirement})"
        return f"{line}. {note}" if note else line

    def _find(self, User, username: str):
        field = User.USERNAME_FIELD
        email = f"{username}@example.com"
        ident = email if field == User.get_email_field_name() else username
        return User._default_manager.filter(**{field: ident}).first()

    def _user(self, User, username: str, staff: bool = False) -> tuple[object, bool]:
        user = self._find(User, username)
        if user is not None:
            return user, False
        field = User.USERNAME_FIELD
        email = f"{username}@example.com"
        ident = email if field == User.get_email_field_name() else username
        extra = {User.get_email_field_name(): email} if field != "email" else {}
        manager = User._default_manager
        create = manager.create_superuser if staff else manager.create_user
        return create(ident, password=PASSWORD, **extra), True
