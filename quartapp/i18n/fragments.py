"""Markup that depends only on a page's language and address, made once and kept for the app."""

from collections.abc import Callable

from markupsafe import Markup
from quart import current_app

from .languages import current_language

LIMIT = 1024  # pieces kept per app; unknown paths (404s) must not grow it for ever


def fragment(name: str, path: str, make: Callable[[], Markup]) -> Markup:
    """The piece name of the page at path in the current language, made by make() the first time.

    For what every page draws (the menu, the language picker): made in Python and kept, it costs
    a page a dictionary lookup where Jinja would make a dozen calls.
    """
    kept: dict[tuple[str, str, str], Markup] = current_app.extensions.setdefault("quartapp_fragments", {})
    key = (name, current_language(), path)
    if (made := kept.get(key)) is None:
        if len(kept) >= LIMIT:
            kept.clear()
        made = kept[key] = make()
    return made
