"""Translated text for Python code: _() at the moment of use, _l() for text defined at import time."""

from gettext import NullTranslations
from typing import Any, cast

from babel.support import LazyProxy
from quart import current_app

from .languages import current_language


def translations(language: str | None = None) -> NullTranslations:
    """The translation chain of language (by default the current one)."""
    chains: dict[str, NullTranslations] = current_app.extensions["translations"]
    return chains[language or current_language()]


def gettext(message: str, **variables: Any) -> str:
    """message in the current language, its %(name)s placeholders filled from variables."""
    text = translations().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The singular or plural form (by the language's own rule) for num; %(num)d is num."""
    return translations().ngettext(singular, plural, num) % {"num": num, **variables}


def pgettext(context: str, message: str, **variables: Any) -> str:
    """gettext() for a message whose translation depends on context (a button's "Remove")."""
    text = translations().pgettext(context, message)
    return text % variables if variables else text


def lazy_gettext(message: str, **variables: Any) -> str:
    """gettext() each time the text is used, not once at import: a form's label or a module's message.

    Typed as the str it stands for wherever it is used (WTForms labels, exception descriptions).
    """
    return cast(str, LazyProxy(gettext, message, enable_cache=False, **variables))


def N_(message: str) -> str:  # gettext's own name for this marker
    """Mark message for translation without translating it: it is translated later, by its text."""
    return message


_ = gettext
_l = lazy_gettext
