"""The instance folder: where the generated secret key and the default SQLite database are kept."""

import logging
import os
import secrets
import sys
from pathlib import Path

from quart import Quart

from .checks import check_database_url

log = logging.getLogger(__name__)


def use_instance_folder(app: Quart) -> None:
    """Keep the SQLite database and the secret key in the instance folder unless they are set;
    the database URL is checked before a secret key is made."""
    instance = Path(app.instance_path)
    if not (app.config["DATABASE_URL"] and app.config["SECRET_KEY"]) and inside_virtualenv(instance):
        # Quart's default for an installed package: every account would go with the virtualenv.
        log.warning(
            "The instance folder %s, which keeps the SQLite database and the secret key, is inside "
            "the virtualenv: recreating it deletes every account. Set QUARTAPP_INSTANCE_PATH to a "
            "folder outside it.",
            instance,
        )
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite+aiosqlite:///{instance / 'quartapp.sqlite3'}"
    check_database_url(app.config["DATABASE_URL"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(instance / "secret_key")


def inside_virtualenv(path: Path) -> bool:
    return sys.prefix != sys.base_prefix and path.resolve().is_relative_to(Path(sys.prefix).resolve())


def instance_secret(path: Path) -> str:
    """Return the secret kept at path, creating it once if it does not exist yet."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}")
    # Only the owner may read the key that signs every cookie.
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(64))
    try:
        # link() fails if the file exists, so workers starting together agree on one key.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()
