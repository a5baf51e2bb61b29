"""Alembic migrations: quartapp's own and the application's, one history in one database."""

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

SCRIPTS = Path(__file__).parent / "migrations"
VERSIONS = SCRIPTS / "versions"


def alembic_config(url: str, locations: Sequence[str | Path] = ()) -> Config:
    """Alembic's configuration for the database at url: quartapp's versions, then those in locations.

    An application's revisions live in folders of its own (create_app's `migrations`), start a
    branch of their own and name the quartapp revision whose tables they need in `depends_on`.
    """
    config = Config()
    config.set_main_option("script_location", _escaped(SCRIPTS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(_escaped(p) for p in (VERSIONS, *locations)))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, locations: Sequence[str | Path] = ()) -> list[str]:
    """Bring the database at url up to every branch's newest revision (run outside an event loop);
    return those revisions."""
    config = alembic_config(url, locations)
    command.upgrade(config, "heads")
    return sorted(ScriptDirectory.from_config(config).get_heads())


def _escaped(path: str | Path) -> str:
    return str(path).replace("%", "%%")  # Alembic's options are ConfigParser values
