import asyncio
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from .conftest import make_app
from .test_db import alembic_config

PASSWORD = "correct horse battery"


@pytest.fixture
def cli_app(tmp_path: Path):
    from alembic import command

    app = make_app(tmp_path)
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")
    return app


def stored_users(tmp_path: Path) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT username, password_hash FROM users")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_create_user_reads_the_password_from_stdin(cli_app, tmp_path):
    result = cli_app.test_cli_runner().invoke(args=["create-user", "Alice", "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created user Alice." in result.output
    [(username, password_hash)] = stored_users(tmp_path)
    assert username == "Alice"
    assert password_hash.startswith("$2b$04$")


def test_create_user_prompts_for_the_password_twice(cli_app, tmp_path):
    result = cli_app.test_cli_runner().invoke(args=["create-user", "bob"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert [name for name, _ in stored_users(tmp_path)] == ["bob"]


def test_create_user_refuses_a_taken_name(cli_app, tmp_path):
    runner = cli_app.test_cli_runner()
    runner.invoke(args=["create-user", "alice", "--password-stdin"], input=f"{PASSWORD}\n")
    result = runner.invoke(args=["create-user", "ALICE", "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "Error: the username 'ALICE' is taken" in result.output
    assert [name for name, _ in stored_users(tmp_path)] == ["alice"]


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("alice", "short", "password: Use at least 8 characters."), ("no spaces", PASSWORD, "username: Use only")],
)
def test_create_user_applies_the_signup_rules(cli_app, tmp_path, username, password, message):
    result = cli_app.test_cli_runner().invoke(args=["create-user", username, "--password-stdin"], input=password)
    assert result.exit_code == 1
    assert message in result.output
    assert stored_users(tmp_path) == []


def session_count(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM auth_sessions")).scalar_one()
    engine.dispose()
    return count


async def signed_in_twice(app) -> None:
    from .conftest import AuthActions

    async with app.test_app():
        for _ in range(2):
            await AuthActions(app.test_client()).signin("alice")


async def test_set_password_replaces_the_hash_and_signs_out_everywhere(cli_app, tmp_path):
    runner = cli_app.test_cli_runner()
    await asyncio.to_thread(runner.invoke, args=["create-user", "alice", "--password-stdin"], input=f"{PASSWORD}\n")
    await signed_in_twice(cli_app)
    assert session_count(tmp_path) == 2
    [(_, before)] = stored_users(tmp_path)

    result = await asyncio.to_thread(
        runner.invoke, args=["set-password", "ALICE", "--password-stdin"], input="another long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "Password set; 2 session(s) signed out." in result.output
    [(_, after)] = stored_users(tmp_path)
    assert after != before
    assert session_count(tmp_path) == 0


async def test_revoke_sessions_signs_a_user_out_everywhere(cli_app, tmp_path):
    runner = cli_app.test_cli_runner()
    await asyncio.to_thread(runner.invoke, args=["create-user", "alice", "--password-stdin"], input=f"{PASSWORD}\n")
    await signed_in_twice(cli_app)
    result = await asyncio.to_thread(runner.invoke, args=["revoke-sessions", "alice"])
    assert result.exit_code == 0, result.output
    assert "2 session(s) signed out." in result.output
    assert session_count(tmp_path) == 0


@pytest.mark.parametrize("command", [["set-password", "nobody", "--password-stdin"], ["revoke-sessions", "nobody"]])
def test_commands_on_an_unknown_user_fail_clearly(cli_app, command):
    result = cli_app.test_cli_runner().invoke(args=command, input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "Error: there is no user 'nobody'" in result.output
