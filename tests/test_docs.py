"""The README is the front door and docs/ holds the rest: neither may point nowhere or go stale."""

import re
from pathlib import Path

import pytest

from quartapp.config import DEFAULTS

from .serving import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SETTING = re.compile(r"\bQUARTAPP_[A-Z0-9_]+\b")
# Where a setting that is not a DEFAULTS key is read by its whole name.
READERS = [*(ROOT / "quartapp").rglob("*.py"), *(ROOT / "tests").rglob("conftest.py")]


def documented_settings() -> set[str]:
    return set(SETTING.findall((ROOT / "docs" / "configuration.md").read_text()))


def test_every_setting_is_documented():
    assert {f"QUARTAPP_{name}" for name in DEFAULTS} - documented_settings() == set()


def test_every_documented_setting_exists():
    code = "".join(path.read_text() for path in READERS)
    made_up = {name for name in documented_settings() if name[len("QUARTAPP_") :] not in DEFAULTS and name not in code}
    assert made_up == set()


@pytest.mark.parametrize("page", DOCS, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    targets = [target.split("#")[0] for target in LINK.findall(page.read_text())]
    relative = [target for target in targets if target and not re.match(r"[a-z]+:", target)]
    assert [target for target in relative if not (page.parent / target).exists()] == []


def test_the_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
