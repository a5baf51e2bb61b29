"""The translations: gettext catalogs (.po) compiled when the app is made, one chain per language.

A chain looks in the application's catalogs first, then quartapp's, then WTForms' own (its
built-in messages such as "This field is required."), and falls back to the English source
text. Each catalog keeps its own plural rule. Catalogs are compiled in memory from the .po
files, so a fresh clone serves every language with no build step and no binaries in git.
"""

import functools
import gettext
import io
from collections.abc import Iterable
from pathlib import Path

import wtforms
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SOURCE_LANGUAGE = "en"  # the language of the msgids: offered without a catalog
QUARTAPP_CATALOGS = Path(__file__).parent.parent / "translations"
WTFORMS_CATALOGS = Path(wtforms.__file__).parent / "locale"


class MissingCatalog(ValueError):
    """A language offered that no catalog translates."""


def po_path(folder: Path, language: str, domain: str = "messages") -> Path:
    return folder / language / "LC_MESSAGES" / f"{domain}.po"


def load(languages: Iterable[str], folders: Iterable[str | Path]) -> dict[str, gettext.NullTranslations]:
    """One translation chain per language: folders' catalogs in order (an application's first), then
    quartapp's, then WTForms'. Raises MissingCatalog for a language none of them has."""
    chains: dict[str, gettext.NullTranslations] = {}
    searched = [*map(Path, folders), QUARTAPP_CATALOGS]
    for language in languages:
        compiled = [
            _compiled(path, path.stat().st_mtime_ns) for f in searched if (path := po_path(f, language)).is_file()
        ]
        if not compiled and language != SOURCE_LANGUAGE:
            raise MissingCatalog(f"no catalog translates {language!r}: looked for {po_path(searched[-1], language)}")
        first, *rest = [*(Translations(io.BytesIO(mo)) for mo in compiled), _wtforms(language)]
        for catalog in rest:
            first.add_fallback(catalog)  # appended at the end of the chain
        chains[language] = first
    return chains


@functools.cache
def _compiled(path: Path, mtime: int) -> bytes:
    """A .po file compiled to .mo bytes (once per file and version: every test makes an app)."""
    with path.open("rb") as f:
        catalog = read_po(f)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)  # a fuzzy entry is a guess: the English text is shown instead
    return out.getvalue()


def _wtforms(language: str) -> gettext.NullTranslations:
    return gettext.translation("wtforms", WTFORMS_CATALOGS, languages=[language], fallback=True)
