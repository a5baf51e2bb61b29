"""Notes: quartapp's sign-in, and a page where each signed-in user keeps notes."""

from pathlib import Path
from typing import Any

from quart import Quart

import quartapp

from . import views

MIGRATIONS = Path(__file__).parent / "migrations"
TRANSLATIONS = Path(__file__).parent / "translations"  # searched before quartapp's own


def create_app(test_config: dict[str, Any] | None = None, **options: Any) -> Quart:
    """quartapp's app with the notes blueprint, its templates and catalogs first, its migrations beside quartapp's.

    A user's notes go with their account by the foreign key's ON DELETE CASCADE (models.py) and
    come with their data in the account's export (views.export_notes).
    """
    app = quartapp.create_app(
        test_config, blueprints=[views.bp], migrations=[MIGRATIONS], translations=[TRANSLATIONS], **options
    )
    quartapp.account_exporting.connect(views.export_notes, sender=app)
    return app
