"""pytest plugin for applications built on quartapp: `app`, `client`, `signed_in` and `clock` fixtures.

Installed with quartapp (the pytest11 entry point), it stays out of the way until a project
names its app factory in its pytest configuration:

    [tool.pytest.ini_options]
    quartapp_app = "notes:create_app"

Then each test may ask for `app` (the factory's app, started, on a fresh migrated database),
`client` (its test client), `signed_in` (`await signed_in(client, "alice")` signs the
client in through a real server-side session, without bcrypt or a form) and `clock`
(quartapp's clock stopped, `clock.advance(days=31)` to expire what expires).
"""

from typing import Any

import pytest

HELPERS = ("Clock", "csrf_token", "sign_in", "submit", "TestUser")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("quartapp_app", "The app factory under test, as module:function; turns quartapp's fixtures on.")


def pytest_configure(config: pytest.Config) -> None:
    if config.getini("quartapp_app"):
        try:
            from . import fixtures
        except ImportError as error:  # pytest-asyncio missing: say what to install
            raise pytest.UsageError(f"quartapp.testing needs {error.name}: pip install 'quartapp[testing]'") from error
        from ..config import check_database_url, ConfigurationError
        from .databases import POSTGRES_URL

        try:
            check_database_url(POSTGRES_URL or "sqlite+aiosqlite://")
        except ConfigurationError as error:
            raise pytest.UsageError(f"QUARTAPP_TEST_DATABASE_URL: {error}") from None
        config.pluginmanager.register(fixtures, "quartapp.testing.fixtures")


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getini("quartapp_app"):
        return None
    from .databases import describe

    return f"quartapp: {config.getini('quartapp_app')} on {describe()}"


def __getattr__(name: str) -> Any:
    # The helpers import Quart and the app; a test run that never uses them should not.
    if name in HELPERS:
        from . import helpers

        return getattr(helpers, name)
    raise AttributeError(name)
