"""RISK_BASED policies: the triggers that decide whether a sign-in is challenged.

An evaluator is a callable taking a ``RiskContext`` and returning a reason (a short string
that goes to the audit log) or ``None``. ``MFA_RISK_EVALUATORS`` lists them by dotted path;
the four built in here each obey their switch in the effective policy.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from django.utils.module_loading import import_string

from . import clock, events, upsert
from .client_ip import client_ip, in_networks, network_of
from .conf import app_settings
from .devices import browser_token, token_digest
from .models import LoginRecord, MFAEvent, UserState
from .policy import EffectivePolicy

NEW_LOCATION_DAYS = 90
FAILURE_WINDOW = timedelta(hours=1)


@dataclass
class RiskContext:
    user: Any
    request: Any
    policy: EffectivePolicy

    @cached_property
    def ip(self) -> str | None:
        return client_ip(self.request)

    @cached_property
    def network(self) -> str:
        return location_of(self.ip)

    @cached_property
    def device_digest(self) -> str:
        return token_digest(browser_token(self.request))

    @cached_property
    def state(self) -> UserState | None:
        return UserState.objects.filter(user=self.user).first()


def location_of(ip: str | None) -> str:
    """``country:XX`` with a GeoIP2 country database, else the IP's /24 or /48 network."""
    if app_settings.GEOIP_COUNTRY and ip:
        try:
            from django.contrib.gis.geoip2 import GeoIP2

            country = GeoIP2().country_code(ip)
        except Exception:
            country = None
        if country:
            return f"country:{country}"
    return network_of(ip)


def new_device(context: RiskContext) -> str | None:
    if not context.policy.risk_new_device:
        return None
    digest = context.device_digest
    seen = digest and LoginRecord.objects.filter(user=context.user, device_digest=digest).exists()
    return None if seen else "new_device"


def new_location(context: RiskContext) -> str | None:
    if not context.policy.risk_new_location:
        return None
    since = clock.now() - timedelta(days=NEW_LOCATION_DAYS)
    seen = (
        context.network
        and LoginRecord.objects.filter(
            user=context.user, network=context.network, created_at__gte=since
        ).exists()
    )
    return None if seen else "new_location"


def suspicious_ip(context: RiskContext) -> str | None:
    if not context.policy.risk_suspicious_ip or not context.ip:
        return None
    if in_networks(context.ip, app_settings.SUSPICIOUS_NETWORKS):
        return "suspicious_ip"
    check = app_settings.SUSPICIOUS_IP_CHECK
    if check and import_string(check)(context.ip):
        return "suspicious_ip"
    failures = MFAEvent.objects.filter(
        kind=MFAEvent.Kind.FAILED,
        ip_address=context.ip,
        created_at__gte=clock.now() - FAILURE_WINDOW,
    ).count()
    return "suspicious_ip" if failures >= app_settings.SUSPICIOUS_IP_FAILURES else None


def password_changed(context: RiskContext) -> str | None:
    if not context.policy.risk_password_changed:
        return None
    state = context.state
    if state is None or state.password_changed_at is None:
        return None
    if state.last_mfa_at is None or state.password_changed_at > state.last_mfa_at:
        return "password_changed"
    return None


def evaluate(user: Any, request: Any, policy: EffectivePolicy) -> list[str]:
    """The reasons every configured evaluator gives for challenging this sign-in."""
    context = RiskContext(user, request, policy)
    reasons = []
    for path in app_settings.RISK_EVALUATORS:
        reason = import_string(path)(context)
        if reason:
            reasons.append(str(reason))
    return reasons


def record_login(user: Any, request: Any) -> None:
    """Remember the browser and network of a completed sign-in, for later risk checks.

    A sign-in from a browser this user never signed in from is audited as
    ``new_device_sign_in`` (which emails the user, TD-06), except the account's first sign-in
    of all: every browser is new then, and the user just made or was given the account.
    """
    if request is None:
        return
    digest = token_digest(browser_token(request, create=True))
    any_browser, this_browser = _add_record(user, digest, location_of(client_ip(request)))
    if any_browser and not this_browser:
        events.record(events.Kind.NEW_DEVICE_SIGN_IN, user, request)


def _add_record(user: Any, digest: str, network: str) -> tuple[bool, bool]:
    """Add the sign-in's record; return whether ``user`` had signed in before from any
    browser, and from this one. One statement where the database allows: the insert returns
    the two index probes (the new row left out), however long the history."""
    values = {"user": user, "device_digest": digest, "network": network, "created_at": clock.now()}
    connection = upsert.connection_for(LoginRecord)
    if not upsert.plain_insert(LoginRecord, connection):
        records = LoginRecord.objects.filter(user=user)
        seen = records.exists(), records.filter(device_digest=digest).exists()
        LoginRecord.objects.create(**values)
        return seen
    c = upsert.names(LoginRecord, connection)
    insert = upsert.insert_values(LoginRecord, connection, values)
    user_pk = upsert.prep(LoginRecord, "user", user.pk, connection)
    # Quoted model names only: every value is a parameter.
    before = f"SELECT 1 FROM {c.table} AS seen WHERE seen.{c.user} = %s"  # noqa: S608  # nosec B608
    before += f" AND seen.{c.id} <> {c.table}.{c.id}"
    sql = f"INSERT INTO {c.table} {insert[0]} RETURNING EXISTS({before}), "
    sql += f"EXISTS({before} AND seen.{c.device_digest} = %s)"
    row = upsert.execute(connection, sql, [*insert[1], user_pk, user_pk, digest])[1]
    return bool(row[0]), bool(row[1])
