"""The client's IP address, read safely behind reverse proxies.

``X-Forwarded-For`` is a list anyone can start: a client may send ``X-Forwarded-For: 1.2.3.4``
and each proxy appends the address it saw. Only the entries that the site's own proxies added
can be trusted, so the client is found by counting from the right: past
``MFA_TRUSTED_PROXY_COUNT`` entries, or past every address in ``MFA_TRUSTED_PROXIES``.
With neither set, the header is ignored and ``REMOTE_ADDR`` is the client.
"""

import ipaddress
from functools import lru_cache
from typing import Any

from .conf import app_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    count = app_settings.TRUSTED_PROXY_COUNT
    proxies = _networks(tuple(app_settings.TRUSTED_PROXIES))
    if remote is None or not (count or proxies):
        return str(remote) if remote is not None else None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [*(_parse(part) for part in forwarded.split(",") if part.strip()), remote]
    if proxies:
        # From the right, skip our proxies; the first address that is not one is the client.
        for address in reversed(chain):
            if address is None:
                break
            if not any(address in network for network in proxies):
                return str(address)
        return str(remote)
    # Each of ``count`` proxies appended one entry: the client is the one before them.
    if len(chain) <= count:
        return str(remote)
    address = chain[-(count + 1)]
    return str(address) if address is not None else str(remote)


def _parse(value: str) -> Address | None:
    value = value.strip()
    if "%" in value:
        # An IPv6 zone id ("fe80::1%eth0") names a local interface: meaningless here, and no
        # database column for addresses accepts it.
        return None
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:443"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def network_of(ip: str | None) -> str:
    """The network a sign-in came from: the /24 of an IPv4 address, the /48 of an IPv6 one."""
    address = _parse(ip or "")
    if address is None:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def in_networks(ip: str | None, values: list[str] | tuple[str, ...]) -> bool:
    address = _parse(ip or "")
    return address is not None and any(address in net for net in _networks(tuple(values)))
