import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from quart import Quart, Response
from quart.typing import TestClientProtocol
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from quartapp import create_app
from quartapp.db.models import Model, User
from quartapp.testing import databases
from quartapp.testing.databases import database_url, POSTGRES_URL
from quartapp.testing.fixtures import TEST_CONFIG
from quartapp.testing.helpers import csrf_token

from .mailbox import Mailbox, smtp_server

PASSWORD = "correct horse battery"

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="exercises SQLite's own files and locks")
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="needs QUARTAPP_TEST_DATABASE_URL (PostgreSQL)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {databases.describe()}"


@pytest.fixture(autouse=True)
def database(quartapp_database: str) -> str:
    """Every test's own database: the plugin's fresh copy of the once-migrated one."""
    return quartapp_database


def make_app(tmp_path: Path, **config: object) -> Quart:
    """Build an app on the test's own database as the plugin's `app` fixture does, with config on top."""
    settings = TEST_CONFIG | {"DATABASE_URL": database_url(tmp_path)}
    return create_app(settings | config, instance_path=str(tmp_path / "instance"))


@asynccontextmanager
async def running_app(tmp_path: Path, **config: object) -> AsyncIterator[Quart]:
    """Serve an app made by make_app (its start-up and shutdown run)."""
    app = make_app(tmp_path, **config)
    async with app.test_app():
        yield app


def migrated(app: Quart) -> str:
    """Migrate the app's database as `quart --app quartapp migrate` does."""
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    output: str = result.output
    return output


@pytest.fixture
def cli_app(tmp_path: Path) -> Quart:
    """An app on a migrated database, as the command line finds it."""
    app = make_app(tmp_path)
    migrated(app)
    return app


async def run(app: Quart, *args: str, input: str | None = None) -> Any:
    """Run a command as `quart --app quartapp ...` does: in a thread with no event loop."""
    return await asyncio.to_thread(app.test_cli_runner().invoke, args=list(args), input=input)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port, keeping what it receives."""
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture
async def mail_app(tmp_path: Path, mailbox: Mailbox) -> AsyncIterator[Quart]:
    """An app whose mail goes to the mailbox fixture, its links made for the test client's host."""
    async with running_app(tmp_path, SMTP_URL=mailbox.url, BASE_URL="http://localhost", MAIL_RETRY_DELAY=0.05) as app:
        yield app


def auth_cookie(response: Response) -> str | None:
    """Return the auth cookie's Set-Cookie header in response, if any."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.split("=", 1)[0].endswith("quartapp_auth"):
            return header
    return None


class AuthActions:
    """What a visitor does, through the pages, as a browser would (from address, if given)."""

    def __init__(
        self, client: TestClientProtocol, address: str | None = None, user_agent: str = "TestBrowser/1.0"
    ) -> None:
        self.client = client
        self.options: dict[str, Any] = {"headers": {"User-Agent": user_agent}}  # client keyword arguments
        if address is not None:
            self.options["scope_base"] = {"client": (address, 50000)}

    async def get(self, path: str) -> Response:
        return await self.client.get(path, **self.options)

    async def post(self, path: str, form: dict[str, str], token_from: str) -> Response:
        token = csrf_token(await (await self.get(token_from)).get_data(as_text=True))
        return await self.client.post(path, form=form | {"csrf_token": token}, **self.options)

    async def token(self, path: str = "/signin") -> str:
        return csrf_token(await (await self.get(path)).get_data(as_text=True))

    async def signup(
        self, username: str = "alice", password: str = PASSWORD, confirm: str | None = None, email: str = ""
    ) -> Response:
        form = {"username": username, "password": password, "confirm": password if confirm is None else confirm}
        return await self.post("/signup", form | ({"email": email} if email else {}), token_from="/signup")

    async def signin(
        self, username: str = "alice", password: str = PASSWORD, remember: bool = False, path: str = "/signin"
    ) -> Response:
        form = {"username": username, "password": password}
        if remember:
            form["remember"] = "y"
        return await self.post(path, form, token_from="/signin")

    async def signout(self) -> Response:
        return await self.post("/signout", {}, token_from="/")


@pytest.fixture
def auth(client: TestClientProtocol) -> AuthActions:
    return AuthActions(client)


async def rows(app: Quart, model: type[Model]) -> list[Row[*tuple[Any, ...]]]:
    """Return every row of model's table, read through an engine of the test's own."""
    engine = create_async_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(select(model)))
    finally:
        await engine.dispose()


async def usernames(app: Quart) -> list[str]:
    return [user.username for user in sorted(await rows(app, User), key=lambda user: user.id)]
