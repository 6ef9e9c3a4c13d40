"""django-two-factor-auth's sign-in: one URL, a wizard of steps posted in turn.

``auth`` (username and password) answers with the ``token`` step's form in the same response;
``token`` takes the code of the user's default TOTP device; the login page's "use a backup
token" button posts ``wizard_goto_step=backup``, which shows the ``backup`` step, which takes
one of the static device's tokens. The last step logs the user in and redirects.
"""

import base64

from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from bench.peers import scenarios
from bench.peers.scenarios import queries, run, setup  # noqa: F401 (what the worker calls)
from bench.scenarios import PASSWORD, _expect

LOGIN_URL = "/account/login/"
STEP = "login_view-current_step"  # the wizard's management field (prefix from the view's name)
BACKUP_TOKENS = 10  # what two_factor's BackupTokensView generates


class TwoFactor(scenarios.Site):
    packages = ("django-two-factor-auth", "django-otp", "django-formtools")

    def factors(self, kind, users):
        # As two_factor's setup wizard (TOTPDeviceForm.save) and BackupTokensView create them.
        devices = TOTPDevice.objects.bulk_create(
            TOTPDevice(user=u, name="default", key=random_hex(20), confirmed=True) for u in users
        )
        secrets = [base64.b32encode(bytes.fromhex(d.key)).decode() for d in devices]
        if kind != "recovery":
            return [(s, []) for s in secrets]
        backups = StaticDevice.objects.bulk_create(
            StaticDevice(user=u, name="backup") for u in users
        )
        tokens = [[StaticToken.random_token() for _ in range(BACKUP_TOKENS)] for _ in users]
        StaticToken.objects.bulk_create(
            StaticToken(device=d, token=t)
            for d, device_tokens in zip(backups, tokens, strict=True)
            for t in device_tokens
        )
        return list(zip(secrets, tokens, strict=True))

    def password(self, client, user):
        data = {STEP: "auth", "auth-username": user.username, "auth-password": PASSWORD}
        response = client.post(LOGIN_URL, data)
        _expect(response, 200, "POST auth step")
        if b'name="token-otp_token"' not in response.content:
            raise scenarios.base.BenchError("POST auth step: no token step in the answer")

    def totp(self, client, code):
        response = client.post(LOGIN_URL, {STEP: "token", "token-otp_token": code})
        _expect(response, 302, "POST token step", self.landing())

    def before_recovery(self, client):
        response = client.post(LOGIN_URL, {STEP: "token", "wizard_goto_step": "backup"})
        _expect(response, 200, "POST go to backup step")
        if b'name="backup-otp_token"' not in response.content:
            raise scenarios.base.BenchError("POST go to backup step: no backup step")

    def recovery(self, client, code):
        response = client.post(LOGIN_URL, {STEP: "backup", "backup-otp_token": code})
        _expect(response, 302, "POST backup step", self.landing())

    def browser(self, step, user):
        landing = self.landing()
        _expect(step("GET login", "get", LOGIN_URL), 200, "GET login")
        data = {STEP: "auth", "auth-username": user.username, "auth-password": PASSWORD}
        _expect(step("POST password", "post", LOGIN_URL, data), 200, "POST auth step")
        data = {STEP: "token", "token-otp_token": scenarios.base.totp_code(user)}
        _expect(step("POST code", "post", LOGIN_URL, data), 302, "POST token step", landing)
        _expect(step("GET / (landing)", "get", landing), 200, "GET / (landing)")


scenarios.use(TwoFactor())
