"""The fixtures quartapp.testing adds once a project names its app factory (quartapp_app)."""

from collections.abc import AsyncIterator, Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from quart import Quart
from quart.typing import TestClientProtocol

from ..db import migrate, models
from . import databases
from .helpers import Clock, sign_in

# bcrypt at its cheapest cost: a password set in a test costs a millisecond, not a third of a second.
TEST_CONFIG: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test secret", "BCRYPT_ROUNDS": 4, "HASH_WORKERS": 2}


@pytest.fixture(scope="session")
def quartapp_factory(pytestconfig: pytest.Config) -> Callable[..., Quart]:
    """The app factory named by the quartapp_app ini option ("module:function")."""
    spec = str(pytestconfig.getini("quartapp_app"))
    module, _, name = spec.partition(":")
    try:
        factory: Callable[..., Quart] = getattr(import_module(module), name or "create_app")
    except (ImportError, AttributeError) as error:
        pytest.fail(f"quartapp_app = {spec!r} names no app factory: {error}", pytrace=False)
    return factory


@pytest.fixture
def quartapp_config() -> dict[str, Any]:
    """Settings for this test's app on top of the test defaults; override it to change them."""
    return {}


@pytest.fixture(scope="session")
def quartapp_template(
    quartapp_factory: Callable[..., Quart], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated once per test run (quartapp's and the app's revisions), copied for each test."""
    folder = tmp_path_factory.mktemp("quartapp-template")
    url = databases.database_url(folder, "template")
    databases.create(url)
    try:
        app = quartapp_factory(TEST_CONFIG | {"DATABASE_URL": url}, instance_path=str(folder / "instance"))
        migrate.upgrade(url, app.extensions["migrations"])
        yield url
    finally:
        databases.drop(url)


@pytest.fixture
def quartapp_database(quartapp_template: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own database, a fresh copy of the migrated one."""
    url = databases.database_url(tmp_path)
    databases.create(url, template=quartapp_template)
    try:
        yield url
    finally:
        databases.drop(url)


@pytest_asyncio.fixture
async def app(
    quartapp_factory: Callable[..., Quart], quartapp_database: str, quartapp_config: dict[str, Any], tmp_path: Path
) -> AsyncIterator[Quart]:
    """The app under test, started (its before_serving hooks run) on this test's database."""
    config = TEST_CONFIG | {"DATABASE_URL": quartapp_database} | quartapp_config
    app = quartapp_factory(config, instance_path=str(tmp_path / "instance"))
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    return app.test_client()


@pytest.fixture
def signed_in() -> Callable[..., Any]:
    """`await signed_in(client, "alice")`: the user (created if new) signed in on client."""
    return sign_in


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """quartapp's clock, stopped now: every module reads it at call time, so none escapes it."""
    clock = Clock()
    monkeypatch.setattr(models, "time_source", clock)
    return clock
