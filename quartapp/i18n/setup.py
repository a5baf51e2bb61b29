"""The app's languages: catalogs loaded, Jinja's {% trans %} and WTForms' messages speaking the current one."""

from collections.abc import Iterable
from pathlib import Path

from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import escape, Markup
from quart import Quart

from ..config import ConfigurationError
from .catalogs import load, MissingCatalog
from .formats import format_when, language_name
from .languages import choose_for_request, current_language, offered


def init_app(app: Quart, folders: Iterable[str | Path] = ()) -> None:
    """Load the catalogs of LANGUAGES (folders' first: an application's own) and teach Jinja to use them."""
    try:
        chains = load(offered(app.config), folders)
    except MissingCatalog as error:
        raise ConfigurationError(f"LANGUAGES: {error}") from None
    app.extensions["translations"] = chains
    app.before_request(_choose_language)
    names = [(language, language_name(language)) for language in chains]

    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    # {% trans %} blocks are extracted and looked up with their whitespace collapsed, so a
    # template may wrap its text across lines as it likes.
    env.policies["ext.i18n.trimmed"] = True
    # newstyle: {% trans %} and gettext() fill %(name)s themselves, escaping the values; a
    # catalog's text is trusted markup. Jinja's own newstyle functions are replaced by equivalents
    # that skip the %-formatting of a text with no "%" in it: Markup % {} cost a page 2 µs a text.
    env.install_gettext_callables(gettext=_unused, ngettext=_unused, newstyle=True)  # type: ignore[attr-defined]

    @pass_eval_context
    def gettext(eval_context: EvalContext, message: str, **variables: object) -> str:
        return _filled(eval_context, chains[current_language()].gettext(message), variables)

    @pass_eval_context
    def ngettext(eval_context: EvalContext, singular: str, plural: str, num: int, **variables: object) -> str:
        text = chains[current_language()].ngettext(singular, plural, num)
        return _filled(eval_context, text, {"num": num, **variables})

    @pass_eval_context
    def pgettext(eval_context: EvalContext, context: str, message: str, **variables: object) -> str:
        return _filled(eval_context, chains[current_language()].pgettext(context, message), variables)

    @pass_eval_context
    def npgettext(
        eval_context: EvalContext, context: str, singular: str, plural: str, num: int, **variables: object
    ) -> str:
        text = chains[current_language()].npgettext(context, singular, plural, num)
        return _filled(eval_context, text, {"num": num, **variables})

    env.globals.update(gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext)
    # The picker's buttons, made once per language: every page shows them.
    app.extensions["language_buttons"] = {current: _buttons(names, current) for current in chains}
    tags = {language: language.replace("_", "-") for language in chains}  # BCP 47, for lang attributes
    env.globals.update(current_language=current_language, language_tag=lambda: tags[current_language()])
    env.filters["when"] = format_when


async def _choose_language() -> None:
    choose_for_request()


def _unused(*args: object) -> str:
    raise AssertionError("replaced by init_app's own gettext functions")


def _filled(eval_context: EvalContext, text: str, variables: dict[str, object]) -> str:
    """What Jinja's newstyle gettext returns: the text as markup (escaping the values put in it)."""
    if eval_context.autoescape:
        text = Markup(text)  # noqa: S704  # catalog text is trusted markup; only the values are escaped
    return text % variables if "%" in text else text


def _buttons(names: list[tuple[str, str]], current: str) -> Markup:
    """The footer picker's buttons, each language named in itself, the current one marked and inert."""
    return Markup(  # noqa: S704  # made of escaped names and codes the configuration checked
        "".join(
            f'<button type="submit" name="language" value="{code}" lang="{code.replace("_", "-")}"'
            f"{' aria-current="true" disabled' if code == current else ''}>{escape(name)}</button>"
            for code, name in names
        )
    )
