"""An optional check against a Pwned-Passwords-style range API (BREACHED_PASSWORD_URL), off by default.

k-anonymity: only the first 5 hex characters of the password's SHA-1 leave the server; the
service answers with every suffix it knows under that prefix (padded with decoys), and the match
is made here. A service that is slow or down never stops anyone setting a password: the check
allows it and logs a warning, so an outage of someone else's service is not one of ours.
"""

import asyncio
import hashlib
import http.client
import logging
import time
import urllib.request
from collections import OrderedDict

from quart import current_app

log = logging.getLogger(__name__)

CACHE_SIZE = 1024  # prefixes per worker (the API has 16**5 of them)
CACHE_SECONDS = 24 * 60 * 60
_cache: OrderedDict[str, tuple[float, dict[str, int]]] = OrderedDict()


async def times_seen(password: str) -> int:
    """How often the service has seen password in breaches; 0 if never, or if it could not say."""
    digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    config = current_app.config
    if (cached := _cache.get(prefix)) is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1].get(suffix, 0)
    url = str(config["BREACHED_PASSWORD_URL"]).rstrip("/") + "/" + prefix
    timeout = config["BREACHED_PASSWORD_TIMEOUT"]
    try:
        # urlopen's timeout bounds each socket operation; wait_for bounds the whole answer.
        counts = await asyncio.wait_for(asyncio.to_thread(_fetch, url, timeout), timeout)
    except (OSError, ValueError, http.client.HTTPException, TimeoutError) as error:
        log.warning("breached-password check skipped: %s did not answer (%s)", url.rsplit("/", 1)[0], error)
        return 0
    _cache[prefix] = (time.monotonic(), counts)
    _cache.move_to_end(prefix)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return counts.get(suffix, 0)


def _fetch(url: str, timeout: float) -> dict[str, int]:
    # The URL is BREACHED_PASSWORD_URL's, which the configuration admits only as http(s).
    request = urllib.request.Request(url, headers={"Add-Padding": "true", "User-Agent": "quartapp"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        text = response.read(4 * 1024 * 1024).decode("ascii")
    counts = {}
    for line in text.splitlines():
        suffix, _, count = line.strip().partition(":")
        if len(suffix) == 35 and count.isdigit() and int(count) > 0:  # padding lines count 0
            counts[suffix.upper()] = int(count)
    return counts
