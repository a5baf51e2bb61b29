"""Passwords everyone tries first, refused wherever a password is set, and never at sign-in.

NIST SP 800-63B asks verifiers to refuse commonly used, expected or compromised passwords and to
impose no composition rules. zxcvbn estimates how many guesses a password takes from its lists
(common passwords, names, words, keyboard patterns, dates) and the account's own username and
address, with l33t, reversals and small changes; below PASSWORD_MIN_STRENGTH (3: about 10**8
guesses) a password is refused with what zxcvbn recognised and a better way. An existing password
is never checked: a sign-in compares hashes, whatever the rules were when it was set.
"""

import asyncio

from quart import current_app
from wtforms import Field

from . import breaches

ADVICE = "Try a passphrase: three or four unrelated words, which is long, easy to remember and hard to guess."


def _estimate(password: str, inputs: list[str], minimum: int) -> str | None:
    import zxcvbn_rs_py

    result = zxcvbn_rs_py.zxcvbn(password, user_inputs=inputs)
    if int(result.score) >= minimum:
        return None
    warning = result.feedback.warning if result.feedback else None
    return f"This password is too easy to guess. {f'{warning} ' if warning else ''}{ADVICE}"


async def refused(field: Field, *, username: str | None, email: str | None = None) -> bool:
    """Refuse field's password if it is easy to guess (or, if configured, breached): the reason joins the
    field's errors. A field already in error is left as it is."""
    if field.errors or not field.data:
        return bool(field.errors)
    config = current_app.config
    inputs = [value for value in (username, email, (email or "").partition("@")[0]) if value]
    # In a thread: a check takes 40-300 µs, up to a few ms for long repetitive input.
    minimum = config["PASSWORD_MIN_STRENGTH"]
    problem = minimum and await asyncio.to_thread(_estimate, field.data, inputs, minimum)
    if not problem and config["BREACHED_PASSWORD_URL"] and (seen := await breaches.times_seen(field.data)):
        problem = (
            f"This password has appeared in {seen:,} leaks of other sites' passwords, so it is among the first "
            f"that attackers try. {ADVICE}"
        )
    if problem:
        field.errors = [*field.errors, problem]
    return bool(problem)
