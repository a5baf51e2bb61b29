import re
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
    """What a visitor does, through the pages, as a browser would."""

    def __init__(self, client: QuartClient) -> None:
        self.client = client

    async def token(self, path: str = "/signin") -> str:
        return csrf_token(await (await self.client.get(path)).get_data(as_text=True))

    async def signup(self, username: str = "alice", password: str = PASSWORD, confirm: str | None = None, **kw):
        form = {"username": username, "password": password, "confirm": password if confirm is None else confirm}
        return await self.client.post("/signup", form=form | {"csrf_token": await self.token("/signup")}, **kw)

    async def signin(self, username: str = "alice", password: str = PASSWORD, remember: bool = False, path: str = "/signin"):
        form = {"username": username, "password": password, "csrf_token": await self.token()}
        if remember:
            form["remember"] = "y"
        return await self.client.post(path, form=form)

    async def signout(self):
        return await self.client.post("/signout", form={"csrf_token": await self.token("/")})


@pytest.fixture
def auth(client: QuartClient) -> AuthActions:
    return AuthActions(client)


async def usernames(app: Quart) -> list[str]:
    async with app.extensions["db_sessionmaker"]() as session:
        return list(await session.scalars(select(User.username).order_by(User.id)))
