"""Languages: every page, form and mail in the visitor's (or recipient's) language, from gettext catalogs.

quartapp's strings are marked with _() (at the moment of use) or _l() (lazily, for text defined
at import time); templates use Jinja's {% trans %}. The catalogs live in quartapp/translations/
(docs/languages.md: how to add a language, and how an application adds its own strings).
"""

from .languages import (
    COOKIE,
    current_language,
    keep_language,
    negotiate,
    negotiate_headers,
    negotiate_request,
    offered,
    use_language,
)
from .text import _, _l, gettext, lazy_gettext, N_, ngettext, pgettext, translations

__all__ = [
    "COOKIE",
    "N_",
    "_",
    "_l",
    "current_language",
    "gettext",
    "keep_language",
    "lazy_gettext",
    "negotiate",
    "negotiate_headers",
    "negotiate_request",
    "ngettext",
    "offered",
    "pgettext",
    "translations",
    "use_language",
]
