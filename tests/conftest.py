import re
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select

from quartapp import create_app
from quartapp.models import Model, User

PASSWORD = "correct horse battery"


def make_app(tmp_path: Path, **config: object) -> Quart:
    """Build an app on a fresh SQLite file in tmp_path, at bcrypt's cheapest cost."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test secret",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}",
        "BCRYPT_ROUNDS": 4,
        "HASH_WORKERS": 2,
    }
    return create_app(settings | config, instance_path=str(tmp_path / "instance"))


async def create_schema(app: Quart) -> None:
    async with app.extensions["db_engine"].begin() as connection:
        await connection.run_sync(Model.metadata.create_all)


@pytest.fixture
async def app(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.test_app():
        await create_schema(app)
        yield app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def auth_cookie(response) -> str | None:
    """Return the auth cookie's Set-Cookie header in response, if any."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.split("=", 1)[0].endswith("quartapp_auth"):
            return header
    return None


class AuthActions:
    """What a visitor does, through the pages, as a browser would (from address, if given)."""

    def __init__(self, client: QuartClient, address: str | None = None, user_agent: str = "TestBrowser/1.0") -> None:
        self.client = client
        self.options = {"headers": {"User-Agent": user_agent}}
        if address is not None:
            self.options["scope_base"] = {"client": (address, 50000)}

    async def get(self, path: str):
        return await self.client.get(path, **self.options)

    async def post(self, path: str, form: dict[str, str], token_from: str):
        token = csrf_token(await (await self.get(token_from)).get_data(as_text=True))
        return await self.client.post(path, form=form | {"csrf_token": token}, **self.options)

    async def token(self, path: str = "/signin") -> str:
        return csrf_token(await (await self.get(path)).get_data(as_text=True))

    async def signup(self, username: str = "alice", password: str = PASSWORD, confirm: str | None = None):
        form = {"username": username, "password": password, "confirm": password if confirm is None else confirm}
        return await self.post("/signup", form, token_from="/signup")

    async def signin(self, username: str = "alice", password: str = PASSWORD, remember: bool = False, path: str = "/signin"):
        form = {"username": username, "password": password}
        if remember:
            form["remember"] = "y"
        return await self.post(path, form, token_from="/signin")

    async def signout(self):
        return await self.post("/signout", {}, token_from="/")


@pytest.fixture
def auth(client: QuartClient) -> AuthActions:
    return AuthActions(client)


class Clock:
    """A stand-in for utcnow that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    for module in ("quartapp.sessions", "quartapp.throttle"):
        monkeypatch.setattr(f"{module}.utcnow", clock)
    return clock


async def rows(app: Quart, model: type) -> list:
    async with app.extensions["db_sessionmaker"]() as session:
        return list(await session.scalars(select(model)))


async def usernames(app: Quart) -> list[str]:
    async with app.extensions["db_sessionmaker"]() as session:
        return list(await session.scalars(select(User.username).order_by(User.id)))
