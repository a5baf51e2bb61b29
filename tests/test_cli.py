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
