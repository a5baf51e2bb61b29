import asyncio
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from .servers import Server

# Any attribute order: WTForms, Flask-WTF and quart-security all render the token as a hidden input.
CSRF_INPUT = r"<input[^>]*\bname=\"{}\"[^>]*>"
VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")
# A polite browser told to come back later (503 + Retry-After) tries again after at most this many
# seconds, so overload keeps its pressure on for the whole scenario.
RETRY_CAP = 1.0
# ...at a random moment of the latter part of that wait: people refused together do not all
# come back in the same millisecond, and identical clients that did would flood the server in
# waves that no real crowd makes.
RETRY_SPREAD = 0.5

SIGNED_IN, REFUSED, ERROR = "signed-in", "refused", "error"
# How a client takes a refusal: a polite one waits part of Retry-After, as a person would; an
# impatient one starts over at once with a fresh browser, as scripts and bots do.
POLITE, IMPATIENT = "polite", "impatient"


@dataclass
class SignIn:
    """One fresh browser's sign-in: GET the form, POST the credentials."""

    start: float  # seconds since the scenario started
    end: float
    outcome: str  # SIGNED_IN, REFUSED (503 with Retry-After) or ERROR
    detail: str  # what was refused or went wrong, empty when signed in
    latency: float  # of the request that decided the outcome: the POST, or a failed GET
    sent: int  # requests sent
    answered: int  # requests that got a response
    form_latency: float | None  # of GET of the form, if it was answered
    retry_after: float = 0.0


def new_cookie_jar() -> aiohttp.CookieJar:
    # unsafe: keep the cookies of a server named by IP address, as browsers do.
    return aiohttp.CookieJar(unsafe=True)


def cookie_header(jar: aiohttp.CookieJar) -> str:
    """Return the Cookie header a browser with jar sends."""
    return "; ".join(f"{morsel.key}={morsel.value}" for morsel in jar)


def csrf_token(page: str, field: str = "csrf_token") -> str | None:
    """Return the CSRF token (the hidden input named field) of the form in page, if it has one."""
    if (tag := re.search(CSRF_INPUT.format(re.escape(field)), page)) and (value := VALUE.search(tag.group())):
        return value.group(1)
    return None


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    """Return a 503's Retry-After in seconds, or None if the response is no such refusal."""
    if response.status != 503 or "Retry-After" not in response.headers:
        return None
    try:
        return float(response.headers["Retry-After"])
    except ValueError:
        return RETRY_CAP  # an HTTP date: still a refusal with a time to come back


async def sign_in(
    server: Server,
    username: str,
    password: str,
    timeout: float,
    t0: float,
    jar: aiohttp.CookieJar | None = None,
) -> SignIn:
    """Sign in with server's form as a fresh browser would (jar: its cookies); classify the result and time it."""
    form, auth_cookie = server.form, server.auth_cookie
    start = time.monotonic()
    sent = answered = 0
    request_start = start
    form_latency = None

    def result(outcome: str, detail: str = "", retry_after: float = 0.0) -> SignIn:
        now = time.monotonic()
        latency = now - request_start
        return SignIn(start - t0, now - t0, outcome, detail, latency, sent, answered, form_latency, retry_after)

    if jar is None:
        jar = new_cookie_jar()
    try:
        # A session of its own: a fresh browser opens a connection of its own, and keeps it
        # from the form to its submission.
        async with aiohttp.ClientSession(server.url, cookie_jar=jar) as browser:
            sent += 1
            # Each request has timeout seconds to be answered: "every request answered in time".
            async with asyncio.timeout(timeout), browser.get(form.path) as response:
                page = await response.text()
                answered += 1
            form_latency = time.monotonic() - start
            if (retry := _retry_after(response)) is not None:
                return result(REFUSED, f"GET {form.path}", retry)
            if response.status != 200:
                return result(ERROR, f"GET {form.path}: {response.status}")
            if (token := csrf_token(page, form.csrf_field)) is None:
                return result(ERROR, f"GET {form.path}: no CSRF token")
            data = form.fields(token, username, password)
            request_start = time.monotonic()
            sent += 1
            async with asyncio.timeout(timeout), browser.post(form.path, data=data, allow_redirects=False) as response:
                await response.read()
                answered += 1
            if (retry := _retry_after(response)) is not None:
                return result(REFUSED, f"POST {form.path}", retry)
            if response.status not in (302, 303):
                return result(ERROR, f"POST {form.path}: {response.status}")
            if (target := urlsplit(response.headers.get("Location", "")).path) != form.success:
                return result(ERROR, f"POST {form.path}: redirect to {target}")
            if auth_cookie not in response.cookies:
                return result(ERROR, f"POST {form.path}: no {auth_cookie} cookie")
            return result(SIGNED_IN)
    except TimeoutError:
        return result(ERROR, "no answer in time")
    except aiohttp.ClientError as error:
        return result(ERROR, type(error).__name__)


async def sign_in_clients(
    server: Server,
    names: Iterator[str],
    password: str,
    clients: int,
    seconds: float,
    timeout: float,
    manners: str = POLITE,
) -> list[SignIn]:
    """Run clients that sign in one fresh browser after another for seconds; return every sign-in.

    manners is POLITE (after a 503 wait part of its Retry-After) or IMPATIENT (ignore it).
    """
    if manners not in (POLITE, IMPATIENT):
        raise ValueError(f"manners: {POLITE!r} or {IMPATIENT!r}, not {manners!r}")
    t0 = time.monotonic()
    end = t0 + seconds
    results: list[SignIn] = []

    async def client() -> None:
        while time.monotonic() < end:
            attempt = await sign_in(server, next(names), password, timeout, t0)
            results.append(attempt)
            if attempt.outcome == REFUSED and manners == POLITE:
                wait = min(attempt.retry_after, RETRY_CAP) * random.uniform(1 - RETRY_SPREAD, 1)
                await asyncio.sleep(min(wait, max(0.0, end - time.monotonic())))

    await asyncio.gather(*(client() for _ in range(clients)))
    return results
