"""The HTTP request of one attempt: a POST to a vetted address, no redirect, no proxy.

The host is resolved once, every address it resolves to is checked, and the connection goes to
a checked address (TLS still verifies the certificate against the host name), so a name that
resolves to a public address for the check and a private one for the request (DNS rebinding)
gets nowhere. ``http.client`` never follows a redirect: a 3xx answer is a failed attempt.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from ..conf import app_settings

EXCERPT_BYTES = 500
ERROR_CHARS = 300


class URLRefused(ValueError):
    """A URL that webhooks may not be sent to; the message says why, for the admin."""


@dataclass(frozen=True)
class Outcome:
    duration_ms: int
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of ``url``; ``URLRefused`` if it is not a usable receiver.

    A host written as an address is checked here; a host name only when it is resolved, at
    each attempt.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLRefused(_("This is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise URLRefused(_("Use an http:// or https:// URL."))
    if parts.username is not None or parts.password is not None:
        raise URLRefused(_("Put no credentials in the URL: receivers check the signature instead."))
    host = parts.hostname
    address = _as_address(host)
    if address is not None:
        _check_address(address)
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """Send ``body`` to ``url``; never raises for anything the network or receiver does."""
    started = time.perf_counter()
    try:
        scheme, host, port = check_url(url)
        address = _resolve(host, port)
        response = _send(scheme, host, port, address, url, body, headers)
    except URLRefused as exc:
        return Outcome(_elapsed(started), error=str(exc))
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(_elapsed(started), error=describe(exc))
    status, excerpt = response
    return Outcome(_elapsed(started), status_code=status, excerpt=excerpt)


def _send(
    scheme: str, host: str, port: int, address: str, url: str, body: bytes, headers: dict
) -> tuple[int, str]:
    timeout = app_settings.WEBHOOK_TIMEOUT
    if scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
            host, port, address=address, timeout=timeout
        )
    else:
        connection = _PinnedHTTPConnection(host, port, address=address, timeout=timeout)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        return response.status, excerpt
    finally:
        connection.close()


def _resolve(host: str, port: int) -> str:
    """A checked address of ``host``: every address it resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise URLRefused(_("The host name does not resolve: %(error)s") % {"error": exc}) from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        _check_address(_as_address(address))
    return addresses[0]


def _as_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``text`` is (an IPv4-mapped IPv6 one as IPv4), or None for a name."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> None:
    if address is None:
        raise URLRefused(_("The host name did not resolve to an IP address."))
    if address.is_multicast or address.is_unspecified:
        raise URLRefused(_("%(address)s cannot receive webhooks.") % {"address": address})
    if not address.is_global and not app_settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        raise URLRefused(
            _(
                "%(address)s is a private, loopback or reserved address; webhooks go only to "
                "public addresses unless MFA_WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on."
            )
            % {"address": address}
        )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _elapsed(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def describe(exc: BaseException) -> str:
    """An error in a line, for the admin."""
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, TimeoutError):
        text = _("timed out after %(seconds)s s") % {"seconds": app_settings.WEBHOOK_TIMEOUT}
    return f"{exc.__class__.__name__}: {text}"[:ERROR_CHARS]
