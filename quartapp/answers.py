"""What views answer: a page (with its status and headers, when not 200), and a throttled visitor's 429."""

from .throttle import wait_message

# A rendered page, or one with its status, or with its status and headers.
Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


def too_many(reason: str, wait: int) -> tuple[str, dict[str, str]]:
    """What a throttled visitor is told ("Too many wrong codes. Try again in 45 seconds.") and the
    Retry-After header of the 429 it comes with."""
    return f"{reason} {wait_message(wait)}", {"Retry-After": str(wait)}
