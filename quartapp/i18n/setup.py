"""The app's languages: catalogs loaded, Jinja's {% trans %} and WTForms' messages speaking the current one."""

from collections.abc import Iterable
from pathlib import Path

from quart import Quart

from ..config import ConfigurationError
from .catalogs import load, MissingCatalog
from .formats import format_when, language_name
from .languages import current_language, offered


def init_app(app: Quart, folders: Iterable[str | Path] = ()) -> None:
    """Load the catalogs of LANGUAGES (folders' first: an application's own) and teach Jinja to use them."""
    try:
        chains = load(offered(app.config), folders)
    except MissingCatalog as error:
        raise ConfigurationError(f"LANGUAGES: {error}") from None
    app.extensions["translations"] = chains
    names = [(language, language_name(language)) for language in chains]

    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    # {% trans %} blocks are extracted and looked up with their whitespace collapsed, so a
    # template may wrap its text across lines as it likes.
    env.policies["ext.i18n.trimmed"] = True
    # newstyle: Jinja fills %(name)s itself, escaping the values; a catalog's text is trusted markup.
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext=lambda message: chains[current_language()].gettext(message),
        ngettext=lambda singular, plural, n: chains[current_language()].ngettext(singular, plural, n),
        pgettext=lambda context, message: chains[current_language()].pgettext(context, message),
        npgettext=lambda context, singular, plural, n: chains[current_language()].npgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
    env.globals.update(current_language=current_language, offered_languages=names)
    env.filters["when"] = format_when
