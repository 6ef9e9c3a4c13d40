"""Every ``MFA_*`` setting with its default, read when first asked for after a change."""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Seconds a pending login has to pass its challenge before it is dropped.
    "CHALLENGE_TIMEOUT": 600,
    # Wrong codes allowed on one challenge before the pending login is dropped.
    "MAX_ATTEMPTS": 5,
    # Per user, across every factor and challenge (see LOCKOUT_DECAY for what lowers it): after
    # LOCKOUT_DELAY_AFTER wrong answers each further one waits LOCKOUT_BASE_DELAY seconds,
    # doubling up to LOCKOUT_MAX_DELAY; at LOCKOUT_THRESHOLD the account's MFA is locked for
    # LOCKOUT_DURATION seconds or until staff unlock it. NIST allows at most 100.
    "LOCKOUT_DELAY_AFTER": 5,
    "LOCKOUT_BASE_DELAY": 30,
    "LOCKOUT_MAX_DELAY": 900,
    "LOCKOUT_THRESHOLD": 20,
    "LOCKOUT_DURATION": 12 * 3600,
    # Time forgives one wrong answer every LOCKOUT_DECAY seconds (on a fixed grid of periods);
    # a success forgives only its own sign-in's, so the real user signing in does not give an
    # attacker parked below the threshold a fresh set of guesses (RL-08).
    "LOCKOUT_DECAY": 6 * 3600,
    # Per client IP: MFA answers per hour and codes sent per day, whoever the user.
    "IP_ATTEMPTS_PER_HOUR": 100,
    "IP_SENDS_PER_DAY": 50,
    # After a password sign-in, offer a user without a passkey to create one (if their policy
    # allows WebAuthn); "Not now" is remembered this many days. False: never offer.
    "PASSKEY_OFFER": True,
    "PASSKEY_OFFER_SNOOZE_DAYS": 90,
    # Seconds after a login or re-authentication during which sensitive changes are allowed.
    "REAUTHENTICATION_TIMEOUT": 300,
    "TOTP_DIGITS": 6,
    "TOTP_PERIOD": 30,
    # Steps of clock drift accepted either side of the current one.
    "TOTP_TOLERANCE": 1,
    # Swappable tenant model and the callable (dotted path) mapping a user to a tenant.
    "TENANT_MODEL": "mfa_app.Tenant",
    "TENANT_RESOLVER": None,
    # Authentication backends whose users are never challenged (SSO, social login).
    "EXEMPT_BACKENDS": [],
    # Staff and superusers are under REQUIRED whatever their policy says.
    "STAFF_ALWAYS_REQUIRED": True,
    # Whether a remembered browser may skip a staff member's or superuser's challenge. Off: a
    # remembered browser is at most AAL1, too little for the keys to the admin.
    "TRUSTED_DEVICES_FOR_STAFF": False,
    # The client's IP behind reverse proxies: how many proxies (each appending to
    # X-Forwarded-For) stand in front of Django, or the addresses/networks of those proxies.
    # 0 and []: REMOTE_ADDR, and X-Forwarded-For is ignored (anyone can send it).
    "TRUSTED_PROXY_COUNT": 0,
    "TRUSTED_PROXIES": [],
    # RISK_BASED: the evaluators (dotted paths of callables ``(context) -> reason or None``),
    # IPs and networks always treated as suspicious, and the MFA failures from one IP within
    # the last hour that make it suspicious.
    "RISK_EVALUATORS": [
        "mfa_app.risk.new_device",
        "mfa_app.risk.new_location",
        "mfa_app.risk.suspicious_ip",
        "mfa_app.risk.password_changed",
    ],
    "SUSPICIOUS_NETWORKS": [],
    # Dotted path of a callable ``(ip) -> bool`` (a blocklist service, Tor exit nodes...).
    "SUSPICIOUS_IP_CHECK": None,
    "SUSPICIOUS_IP_FAILURES": 20,
    # A GeoIP2 country database (django.contrib.gis.geoip2): new location then means a new
    # country rather than a new /24 (IPv4) or /48 (IPv6) network.
    "GEOIP_COUNTRY": False,
    # Names of the cookies that identify a browser (for trusted devices and new-device checks).
    "DEVICE_COOKIE_NAME": "mfa_device",
    # On HTTPS the cookie is named ``__Host-<name>`` (Secure, Path=/, no Domain), so no other
    # subdomain can set it. ``False``: the plain name everywhere.
    "DEVICE_COOKIE_HOST_PREFIX": True,
    # URL names (``"namespace:name"`` or ``"name"``) a pending login may still open.
    "PENDING_ALLOWED_URL_NAMES": [],
    # Where a dropped pending login is sent; ``None`` means ``settings.LOGIN_URL``.
    "LOGIN_URL": None,
    # WebAuthn relying party. ``None``: the request's host without its port; the policy's
    # issuer; the request's scheme and host. Behind a proxy, set them (or
    # SECURE_PROXY_SSL_HEADER), as credentials are bound to the RP ID for good.
    "WEBAUTHN_RP_ID": None,
    "WEBAUTHN_RP_NAME": None,
    "WEBAUTHN_ORIGINS": None,
    # "required" also demands a PIN or biometric on the key at every use (WA-07); as a second
    # factor after the password, "preferred" lets simple security keys work.
    "WEBAUTHN_USER_VERIFICATION": "preferred",
    # Fernet keys (urlsafe base64, 32 bytes) for secrets at rest, newest first: the first
    # encrypts, every one decrypts. Rotate: put a new key first, run ``mfa_rotate_keys``,
    # then drop the old one.
    "ENCRYPTION_KEYS": None,
    # Codes sent by SMS or email: seconds each is valid, seconds before another may be sent to
    # the same destination, and sends allowed per user and per destination in 24 hours
    # (each text message costs money: SMS pumping fraud sends many).
    "CODE_TIMEOUT": 600,
    "CODE_RESEND_COOLDOWN": 30,
    "CODE_SENDS_PER_USER_PER_DAY": 10,
    "CODE_SENDS_PER_DESTINATION_PER_DAY": 10,
    # Dotted path of the class that sends text messages, like Django's EMAIL_BACKEND.
    "SMS_BACKEND": "mfa_app.senders.twilio.TwilioBackend",
    # ISO 3166 regions whose numbers may enroll (``None``: any); stops texts to costly regions.
    "SMS_ALLOWED_REGIONS": None,
    # The Twilio backend: credentials, and either a From number or a Messaging Service SID.
    # TWILIO_HTTP_CLIENT: dotted path of a ``twilio.http.HttpClient`` subclass (proxies, timeouts).
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_FROM_NUMBER": "",
    "TWILIO_MESSAGING_SERVICE_SID": "",
    "TWILIO_HTTP_CLIENT": None,
    # Security emails to the user (docs/notifications.md): each kind on or off; a dict given
    # in settings is merged with this one, and ``False`` turns them all off.
    "NOTIFICATIONS": {
        "factor_added": True,
        "factor_removed": True,
        "recovery_code_used": True,
        "mfa_reset": True,
        "device_remembered": True,
        "sign_in_failed": True,
        "new_device_sign_in": True,
        "bypass_granted": True,
        "recovery_codes_imported": True,
    },
    # The site's address for links in them (``"https://example.com"``), needed where no request
    # is at hand (management commands). ``None``: the Sites framework, else the request's host.
    "NOTIFICATION_SITE_URL": None,
    # Dotted path of the callable ``(notification) -> None`` that sends them (it runs in the
    # ``send_notification`` task, on the default task backend); replace it to use the site's
    # own mailer.
    "NOTIFICATION_SENDER": "mfa_app.notifications.send_by_email",
    # The language of a user's security emails and codes (email, SMS): a callable or its dotted
    # path, ``(user, request) -> language code or None``. ``None`` (or a ``None`` answer): the
    # language active when the event happens, the request's; stored with a queued email.
    "USER_LANGUAGE": None,
    # ``(request) -> (user, amr, mfa_at) | None`` for token clients of the staff API, e.g.
    # "mfa_app.contrib.rest_framework.authenticate"; None: sessions only.
    "TOKEN_AUTHENTICATOR": None,
    # How a user reaches the site's support when it wasn't them: an address, a URL, a phone.
    "SUPPORT_CONTACT": "",
    # Webhooks: seconds to wait on a receiver (connecting, then each read), the seconds
    # between a failed attempt and the next (one retry each; then the delivery gives up), and
    # whether receivers may be on private, loopback or link-local addresses (off: a URL
    # entered in the admin cannot reach the site's own network, SSRF).
    "WEBHOOK_TIMEOUT": 5,
    "WEBHOOK_RETRY_SCHEDULE": [60, 300, 1800, 7200, 43200],
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": False,
    # The task backend (an alias of settings.TASKS) and queue that deliveries go through.
    "WEBHOOK_TASK_BACKEND": "default",
    "WEBHOOK_TASK_QUEUE": "default",
    # The cache alias that keeps each user's session epoch (SES-06), so a signed-in request
    # costs no query; ``None``, or a per-process cache (local memory), reads the database.
    "SESSION_EPOCH_CACHE": "default",
}


class AppSettings:
    """``settings.MFA_<NAME>`` or the default, kept once read until a setting changes.

    A sign-in reads some thirty of them; Django's settings look each missing one up again
    (an exception each time), a few microseconds apiece. ``override_settings`` and pytest's
    ``settings`` fixture send ``setting_changed``, which forgets what was kept.
    """

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        value = getattr(settings, f"MFA_{name}", DEFAULTS[name])
        # Found as a plain attribute from now on: ``__getattr__`` is not called again.
        self.__dict__[name] = value
        return value

    def forget(self) -> None:
        self.__dict__.clear()

    @property
    def login_url(self) -> str:
        return self.LOGIN_URL or settings.LOGIN_URL


app_settings = AppSettings()


def _setting_changed(setting: str, **kwargs: Any) -> None:
    if setting.startswith("MFA_"):
        app_settings.forget()


setting_changed.connect(_setting_changed, dispatch_uid="mfa_app.conf.setting_changed")
