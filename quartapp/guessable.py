"""Passwords everyone tries first, refused wherever a password is set, and never at sign-in.

NIST SP 800-63B asks verifiers to refuse commonly used, expected or compromised passwords and to
impose no composition rules. zxcvbn estimates how many guesses a password takes from its lists
(common passwords, names, words, keyboard patterns, dates) and the account's own username and
address, with l33t, reversals and small changes; below PASSWORD_MIN_STRENGTH (3: about 10**8
guesses) a password is refused with what zxcvbn recognised and a better way. An existing password
is never checked: a sign-in compares hashes, whatever the rules were when it was set.
"""

import asyncio

import zxcvbn_rs_py
from quart import current_app
from wtforms import Field

from . import breaches
from .i18n import _, _l, ngettext
from .i18n.formats import format_number

ADVICE = _l("Try a passphrase: three or four unrelated words, which is long, easy to remember and hard to guess.")
# What zxcvbn recognised, by its warning (whose own text is English only; its warnings are
# comparable but not hashable, hence pairs rather than a dict).
_W = zxcvbn_rs_py.Warning
WARNINGS = (
    (_W.StraightRowsOfKeysAreEasyToGuess, _l("Straight rows of keys are easy to guess.")),
    (_W.ShortKeyboardPatternsAreEasyToGuess, _l("Short keyboard patterns are easy to guess.")),
    (_W.RepeatsLikeAaaAreEasyToGuess, _l("Repeats like “aaa” are easy to guess.")),
    (
        _W.RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        _l("Repeats like “abcabcabc” are only slightly harder to guess than “abc”."),
    ),
    (_W.ThisIsATop10Password, _l("This is one of the ten most common passwords.")),
    (_W.ThisIsATop100Password, _l("This is one of the hundred most common passwords.")),
    (_W.ThisIsACommonPassword, _l("This is a very common password.")),
    (_W.ThisIsSimilarToACommonlyUsedPassword, _l("This is similar to a commonly used password.")),
    (_W.SequencesLikeAbcAreEasyToGuess, _l("Sequences like “abc” or “6543” are easy to guess.")),
    (_W.RecentYearsAreEasyToGuess, _l("Recent years are easy to guess.")),
    (_W.AWordByItselfIsEasyToGuess, _l("A word by itself is easy to guess.")),
    (_W.DatesAreOftenEasyToGuess, _l("Dates are often easy to guess.")),
    (_W.NamesAndSurnamesByThemselvesAreEasyToGuess, _l("Names and surnames by themselves are easy to guess.")),
    (_W.CommonNamesAndSurnamesAreEasyToGuess, _l("Common names and surnames are easy to guess.")),
)


def _estimate(password: str, inputs: list[str], minimum: int) -> tuple[bool, zxcvbn_rs_py.Warning | None]:
    """Whether password is too easy to guess, and what zxcvbn recognised in it."""
    result = zxcvbn_rs_py.zxcvbn(password, user_inputs=inputs)
    return int(result.score) < minimum, result.feedback.warning if result.feedback else None


def _too_easy(warning: zxcvbn_rs_py.Warning | None) -> str:
    recognised = next((text for known, text in WARNINGS if known == warning), None)
    if recognised is None:
        return _("This password is too easy to guess. %(advice)s", advice=ADVICE)
    return _("This password is too easy to guess. %(warning)s %(advice)s", warning=recognised, advice=ADVICE)


async def refused(field: Field, *, username: str | None, email: str | None = None) -> bool:
    """Refuse field's password if it is easy to guess (or, if configured, breached): the reason joins the
    field's errors. A field already in error is left as it is."""
    if field.errors or not field.data:
        return bool(field.errors)
    config = current_app.config
    inputs = [value for value in (username, email, (email or "").partition("@")[0]) if value]
    # In a thread: a check takes 40-300 µs, up to a few ms for long repetitive input.
    minimum = config["PASSWORD_MIN_STRENGTH"]
    problem = None
    if minimum and (estimate := await asyncio.to_thread(_estimate, field.data, inputs, minimum))[0]:
        problem = _too_easy(estimate[1])
    if not problem and config["BREACHED_PASSWORD_URL"] and (seen := await breaches.times_seen(field.data)):
        problem = ngettext(
            "This password has appeared in a leak of another site's passwords, so it is among the first that "
            "attackers try. %(advice)s",
            "This password has appeared in %(count)s leaks of other sites' passwords, so it is among the first "
            "that attackers try. %(advice)s",
            seen,
            count=format_number(seen),
            advice=ADVICE,
        )
    if problem:
        field.errors = [*field.errors, problem]
    return bool(problem)
