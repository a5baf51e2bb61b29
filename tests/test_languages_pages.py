"""Every page, in every shipped language, with none of the catalog's English left in it."""

import html
import re

import pytest
from babel.messages.pofile import read_po
from quart import Quart

from quartapp.i18n.catalogs import po_path, QUARTAPP_CATALOGS

# Pages that are not pages: JSON, files, health checks, and the static folder.
NOT_PAGES = {"/livez", "/healthz", "/account/export.json", "/static/<path:filename>"}


def english_left_over(language: str) -> list[str]:
    """The catalog's English texts that a page in language must not show: each one's translation
    differs, and it is a whole text (no placeholder, no markup), of two words or more."""
    with po_path(QUARTAPP_CATALOGS, language).open("rb") as f:
        catalog = read_po(f)
    return [
        m.id
        for m in catalog
        if isinstance(m.id, str) and m.string != m.id and " " in m.id and "%" not in m.id and "<" not in m.id
    ]


def visible_text(page: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def page_paths(app: Quart) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.rule not in NOT_PAGES
    )


@pytest.mark.parametrize("language", ["de", "es"])
async def test_no_page_keeps_english_text(app, client, signed_in, language):
    await signed_in(client, "alice", email="alice@example.org")
    leftovers = english_left_over(language)
    assert len(leftovers) > 100  # the catalog was read
    shown = 0
    for path in [*page_paths(app), "/no-such-page"]:
        response = await client.get(path, headers={"Accept-Language": language})
        if response.mimetype != "text/html" or response.status_code in (301, 302, 303):
            continue
        page = await response.get_data(as_text=True)
        assert f'<html lang="{language}">' in page, path
        text = visible_text(page)
        found = [english for english in leftovers if re.search(rf"(?<!\w){re.escape(english)}(?!\w)", text)]
        assert not found, f"{path} in {language} shows English: {found}"
        shown += 1
    assert shown >= 12  # the pages were seen, not skipped


async def test_the_english_pages_are_what_the_catalogs_translate(app, client, signed_in):
    # The check above would pass on pages that bypass the catalog: the English page has the texts.
    await signed_in(client, "alice", email="alice@example.org")
    text = visible_text(await (await client.get("/2fa")).get_data(as_text=True))
    assert any(english in text for english in english_left_over("de"))
