"""allauth's sign-in: the account login form, then the MFA stage.

The login POST (username and password) redirects a user with an authenticator to
``/accounts/2fa/authenticate/``, whose one ``code`` field takes a TOTP code or a recovery
code; a right one completes the login and redirects.
"""

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from bench.peers import scenarios
from bench.peers.scenarios import queries, run, setup  # noqa: F401 (what the worker calls)
from bench.scenarios import PASSWORD, _expect

LOGIN_URL = "/accounts/login/"
AUTHENTICATE_URL = "/accounts/2fa/authenticate/"


class Allauth(scenarios.Site):
    packages = ("django-allauth", "fido2")

    def factors(self, kind, users):
        # allauth's own activation: what its TOTP and recovery-code flows call.
        out = []
        for user in users:
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
            codes = RecoveryCodes.activate(user).get_unused_codes() if kind == "recovery" else []
            out.append((secret, codes))
        return out

    def password(self, client, user):
        response = client.post(LOGIN_URL, {"login": user.username, "password": PASSWORD})
        _expect(response, 302, "POST login", AUTHENTICATE_URL)

    def totp(self, client, code):
        response = client.post(AUTHENTICATE_URL, {"code": code})
        _expect(response, 302, "POST authenticate (TOTP)", self.landing())

    def recovery(self, client, code):
        response = client.post(AUTHENTICATE_URL, {"code": code})
        _expect(response, 302, "POST authenticate (recovery code)", self.landing())

    def browser(self, step, user):
        landing = self.landing()
        _expect(step("GET login", "get", LOGIN_URL), 200, "GET login")
        data = {"login": user.username, "password": PASSWORD}
        response = step("POST password", "post", LOGIN_URL, data)
        _expect(response, 302, "POST login", AUTHENTICATE_URL)
        _expect(step("GET 2fa form", "get", AUTHENTICATE_URL), 200, "GET authenticate")
        data = {"code": scenarios.base.totp_code(user)}
        response = step("POST code", "post", AUTHENTICATE_URL, data)
        _expect(response, 302, "POST authenticate", landing)
        _expect(step("GET / (landing)", "get", landing), 200, "GET / (landing)")


scenarios.use(Allauth())
