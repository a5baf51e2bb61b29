import re
from collections.abc import Iterable

from quart import Request, Response

# A host name or IPv4 address, or an IPv6 literal in brackets, then an optional port.
HOST_PATTERN = re.compile(r"([a-z0-9.-]{1,253}|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?")

# No url_for, no template, no database: this page must render for a request whose Host is
# unusable, before anything that could fail on it runs.
BAD_HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>400 Bad Request · quartapp</title></head>
<body>
  <h1>400 Bad Request</h1>
  <p>This server does not answer to the host name this request was sent to.</p>
</body>
</html>
"""


def normalize(name: str) -> str:
    """Return a host name as the Host header's is compared with it: lower case, no
    trailing dot, an IPv6 address in brackets."""
    name = name.strip().lower().removesuffix(".")
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return name


def trusted_hosts(names: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split TRUSTED_HOSTS into exact names and ".example.com" suffixes (any subdomain)."""
    exact, suffixes = set(), []
    for name in map(normalize, names):
        if name.startswith("."):
            suffixes.append(name)
            exact.add(name[1:])
        else:
            exact.add(name)
    return frozenset(exact), tuple(suffixes)


def host_name(header: str) -> str | None:
    """Return the host name of a Host header value without its port, or None if malformed."""
    match = HOST_PATTERN.fullmatch(header.lower())
    if match is None:
        return None
    name, port = match.groups()
    if port is not None and not 0 < int(port) < 65536:
        return None
    name = name.removesuffix(".")
    if not name or ".." in name or name.startswith(("-", ".")):
        return None
    return name


class HostCheck:
    """Refuse, with a plain 400, every request whose Host the operator did not list."""

    def __init__(self, names: Iterable[str]) -> None:
        self.exact, self.suffixes = trusted_hosts(names)

    def allows(self, request: Request) -> bool:
        # Exactly one Host header (RFC 9112 section 3.2), naming a listed host. Absolute links
        # in mails and redirects must never point wherever a client's Host says.
        values = request.headers.getlist("Host")
        if len(values) != 1 or (name := host_name(values[0])) is None:
            return False
        return name in self.exact or name.endswith(self.suffixes)

    def refusal(self) -> Response:
        return Response(BAD_HOST_PAGE, 400, mimetype="text/html")
