"""A lean keep-alive HTTP/1.1 page client: the pages scenario's load at a fraction of aiohttp's CPU.

The load generator shares the cores with the servers it measures, so every microsecond it
spends per request is taken from them. This client pre-encodes its one request, then per
response reads the status line and headers, and a Content-Length (or chunked, or to-close)
body, and checks the status and the expected text; nothing else.
"""

import asyncio
import time
from urllib.parse import urlsplit

from .probe import Sample

HEAD_END = b"\r\n\r\n"
# A response head longer than this is no page of ours.
HEAD_LIMIT = 64 * 1024


async def lean_page_clients(
    url: str, path: str, visitors: list[tuple[str, bytes]], clients: int, seconds: float, timeout: float
) -> list[Sample]:
    """Run clients that GET path back to back on kept-alive connections for seconds; return every request.

    Client i is visitor i modulo their number: a Cookie header, and text its page must contain.
    A connection the server closes (or asks to close) is opened anew for the next request.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    t0 = time.monotonic()
    end = t0 + seconds
    samples: list[Sample] = []

    async def client(cookie: str, expect: bytes) -> None:
        headers = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", *([f"Cookie: {cookie}"] if cookie else [])]
        encoded = ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1")
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (start := time.monotonic()) < end:
                status, close = None, True
                try:
                    async with asyncio.timeout(timeout):
                        if connection is None:
                            connection = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
                        reader, writer = connection
                        writer.write(encoded)
                        status, close, body = await _response(reader)
                    error = f"status {status}" if status != 200 else ("" if expect in body else "unexpected page")
                except TimeoutError:
                    error = "no answer in time"
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    error = type(exc).__name__
                samples.append(Sample(start - t0, path, time.monotonic() - start, status, error))
                if close and connection is not None:
                    connection[1].close()
                    connection = None
        finally:
            if connection is not None:
                connection[1].close()

    await asyncio.gather(*(client(*visitors[i % len(visitors)]) for i in range(clients)))
    return samples


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one response: its status, whether the connection closes after it, and its body."""
    head = await reader.readuntil(HEAD_END)
    lines = head[: -len(HEAD_END)].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    status = int(rest[:3])  # a ValueError if this is no status line
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    connection = headers.get(b"connection", b"")
    close = connection == b"close" or (version == b"HTTP/1.0" and connection != b"keep-alive")
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        body = await _chunked(reader)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body, close = await reader.read(), True  # the body runs to the end of the connection
    return status, close, body


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += await reader.readexactly(size + 2)
        del body[-2:]
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the blank line
        pass
    return bytes(body)
