"""Dates as the current language writes them, in UTC as everywhere else on the site."""

import functools
from datetime import datetime, UTC

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal

from .languages import current_language


@functools.cache
def locale(language: str) -> Locale:
    return Locale.parse(language)  # Babel does not cache this parse, and every date needs it


def format_when(moment: datetime) -> str:
    """A date and time as the language writes it: "Dec 3, 2026, 11:05 PM UTC" in English,
    "03.12.2026, 23:05 UTC" in German, "3 dic 2026, 23:05 UTC" in Spanish."""
    language = current_language()
    day = format_date(moment, "medium", locale=locale(language))
    time = format_time(moment, "short", tzinfo=UTC, locale=locale(language))
    return _joined(language).replace("{1}", day).replace("{0}", time)


@functools.cache
def _joined(language: str) -> str:
    """CLDR's "{1}, {0}" (date, time) for the language, then "UTC": no page asks for a time zone."""
    return f"{get_datetime_format('medium', locale=locale(language))} UTC"


def language_name(language: str) -> str:
    """The language's name in itself, as a picker shows it: "English", "Deutsch", "Español"."""
    name = locale(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def format_number(number: int) -> str:
    """A whole number with the language's grouping: "1,234,567", "1.234.567", "1.234.567"."""
    return format_decimal(number, locale=locale(current_language()))
