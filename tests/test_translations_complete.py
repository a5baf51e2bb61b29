"""The shipped catalogs against the text in the code: every string translated in every language, nothing stale.

What `make translations` does (extract, then update each catalog), checked without changing anything:
a failure names the string, the language and the command that brings the catalogs up to date.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
CATALOGS = ROOT / "quartapp" / "translations"
LANGUAGES = sorted(path.name for path in CATALOGS.iterdir() if (path / "LC_MESSAGES" / "messages.po").is_file())
HOW = "run `make translations`, translate the new entries in {po} (no fuzzy marks left), and commit both"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The catalog template as the code and templates are now (pybabel's own extraction, pyproject.toml's settings)."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [pybabel, "extract", "-F", "pyproject.toml", "--omit-header", "--sort-by-file", "--add-location=file",
         "-o", pot, "quartapp"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return read_po(f)


def test_languages_are_shipped():
    assert {"de", "es"} <= set(LANGUAGES)


def test_the_template_is_current(extracted: Catalog):
    with (CATALOGS / "messages.pot").open("rb") as f:
        committed = read_po(f)
    missing = [m.id for m in extracted if m.id and committed.get(m.id, m.context) is None]
    stale = [m.id for m in committed if m.id and extracted.get(m.id, m.context) is None]
    how = "run `make translations` and commit quartapp/translations"
    assert not missing, f"not in quartapp/translations/messages.pot: {missing[:5]}: {how}"
    assert not stale, f"in messages.pot but no longer in the code: {stale[:5]}: {how}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(extracted: Catalog, language: str):
    po = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    how = HOW.format(po=po.relative_to(ROOT))
    problems = []
    for message in extracted:
        if not message.id:
            continue
        where = ", ".join(path for path, _ in message.locations)
        translated = catalog.get(message.id, message.context)
        strings = translated.string if translated is not None else ""
        if translated is None:
            problems.append(f"{message.id!r} ({where}) is missing")
        elif translated.fuzzy:
            problems.append(f"{message.id!r} ({where}) is marked fuzzy: check the translation, then drop the mark")
        elif not all(strings if isinstance(strings, tuple) else [strings]):
            problems.append(f"{message.id!r} ({where}) has no translation")
        elif isinstance(message.id, tuple) and not isinstance(strings, tuple):
            problems.append(f"{message.id!r} ({where}) needs its {catalog.num_plurals} plural forms")
    for message in catalog:
        if message.id and extracted.get(message.id, message.context) is None:
            problems.append(f"{message.id!r} is no longer in the code (stale)")
    for message, errors in catalog.check():
        problems += [f"{message.id!r}: {error}" for error in errors]  # placeholders that differ from the English
    assert not problems, f"{language}: {len(problems)} problems, {how}:\n" + "\n".join(problems)
