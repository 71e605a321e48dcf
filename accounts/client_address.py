"""The address of the client a request comes from, as far as this deployment can know it.

By default that is the connection's own address (REMOTE_ADDR) and X-Forwarded-For is ignored:
anyone can send that header. Behind reverse proxies or load balancers, the proxies are named by
one of two settings (see docs/security.md):

- TRUSTED_PROXIES: the addresses or networks of the proxies. X-Forwarded-For is read from the
  right while the hop that reported it is one of them; the first hop that is not a trusted proxy
  is the client. A request that does not come from a trusted proxy keeps its own address.
- TRUSTED_PROXY_COUNT: how many proxies stand in front of the app, for when their addresses are
  not fixed. The app must then be reachable only through them.
"""

import functools
import ipaddress

from django.conf import settings

UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - a placeholder recorded, never bound

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def trusted_proxies_validate(entries) -> None:
    """Raise ValueError if an entry of TRUSTED_PROXIES is neither an address nor a network."""
    _networks(tuple(entries))


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request) -> str:
    """The client's address, per the trusted-proxy settings; "0.0.0.0" if it cannot be read."""
    remote = _parse(request.META.get("REMOTE_ADDR", "") or "")
    if remote is None:
        return UNKNOWN_ADDRESS
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    proxy_count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if not networks and not proxy_count:
        return str(remote)
    forwarded = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    address = remote
    for hops_walked, hop in enumerate(reversed(forwarded)):
        reporter_trusted = (_is_trusted(address, networks) if networks
                            else hops_walked < proxy_count)
        if not reporter_trusted:
            break
        reported = _parse(hop)
        if reported is None:
            break
        address = reported
    return str(address)
