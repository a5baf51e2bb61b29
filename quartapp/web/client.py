"""Who sent this request: the client's address, and the network it is throttled as."""

import ipaddress

from quart import request


def client_address() -> str:
    """Return the address of the client that sent this request."""
    return (request.remote_addr or "unknown")[:45]  # the column width; an IPv6 address fits


def address_network(address: str) -> str:
    """Return the network an address is throttled as: itself, or its /64 for IPv6.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would give
    an attacker 2**64 fresh ones.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
