import pytest
from sqlalchemy import make_url

from quartapp.db.migrate import VERSIONS
from quartapp.testing.databases import execute

from .conftest import AuthActions, make_app, migrated, run

PASSWORD = "correct horse battery"


async def stored_users(app) -> list[tuple[str, str]]:
    return [
        tuple(row) for row in await execute(app.config["DATABASE_URL"], "SELECT username, password_hash FROM users")
    ]


async def session_count(app) -> int:
    count: int
    [(count,)] = await execute(app.config["DATABASE_URL"], "SELECT count(*) FROM auth_sessions")
    return count


async def signed_in_twice(app) -> None:
    async with app.test_app():
        for _ in range(2):
            await AuthActions(app.test_client()).signin("alice")


def test_migrate_says_which_database_it_brought_up_to_date(tmp_path):
    app = make_app(tmp_path)
    url = make_url(app.config["DATABASE_URL"])
    newest = max(path.name.partition("_")[0] for path in VERSIONS.glob("0*.py"))
    for _ in range(2):  # and says so again when there was nothing to do
        output = migrated(app)
        assert output == f"Database {url.render_as_string(hide_password=True)}: up to date ({newest})\n"
    assert not url.password or url.password not in output


async def test_create_user_reads_the_password_from_stdin(cli_app):
    result = await run(cli_app, "create-user", "Alice", "--password-stdin", input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created user Alice." in result.output
    [(username, password_hash)] = await stored_users(cli_app)
    assert username == "Alice"
    assert password_hash.startswith("$2b$04$")


async def test_create_user_prompts_for_the_password_twice(cli_app):
    result = await run(cli_app, "create-user", "bob", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert [name for name, _ in await stored_users(cli_app)] == ["bob"]


async def test_create_user_refuses_a_taken_name(cli_app):
    await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    result = await run(cli_app, "create-user", "ALICE", "--password-stdin", input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "Error: the username 'ALICE' is taken" in result.output
    assert [name for name, _ in await stored_users(cli_app)] == ["alice"]


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("alice", "short", "password: Use at least 8 characters."),
        ("no spaces", PASSWORD, "username: A username cannot contain a space."),
    ],
)
async def test_create_user_applies_the_signup_rules(cli_app, username, password, message):
    result = await run(cli_app, "create-user", username, "--password-stdin", input=password)
    assert result.exit_code == 1
    assert message in result.output
    assert await stored_users(cli_app) == []


async def test_set_password_replaces_the_hash_and_signs_out_everywhere(cli_app):
    await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    await signed_in_twice(cli_app)
    assert await session_count(cli_app) == 2
    [(_, before)] = await stored_users(cli_app)

    result = await run(cli_app, "set-password", "ALICE", "--password-stdin", input="another long password\n")
    assert result.exit_code == 0, result.output
    assert "Password set; 2 session(s) signed out." in result.output
    [(_, after)] = await stored_users(cli_app)
    assert after != before
    assert await session_count(cli_app) == 0


async def test_revoke_sessions_signs_a_user_out_everywhere(cli_app):
    await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    await signed_in_twice(cli_app)
    result = await run(cli_app, "revoke-sessions", "alice")
    assert result.exit_code == 0, result.output
    assert "2 session(s) signed out." in result.output
    assert await session_count(cli_app) == 0


@pytest.mark.parametrize("args", [["set-password", "nobody", "--password-stdin"], ["revoke-sessions", "nobody"]])
async def test_commands_on_an_unknown_user_fail_clearly(cli_app, args):
    result = await run(cli_app, *args, input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "Error: there is no user 'nobody'" in result.output


async def test_reset_second_factors_lets_the_password_alone_sign_in_again(cli_app):
    from .totp_actions import turn_on_totp

    await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    async with cli_app.test_app():
        alice = AuthActions(cli_app.test_client())
        await alice.signin("alice", PASSWORD)
        await turn_on_totp(alice)
        await alice.signout()
        assert (await alice.signin("alice", PASSWORD)).headers["Location"].startswith("/signin/second-factor")
    result = await run(cli_app, "reset-second-factors", "alice")
    assert result.exit_code == 0, result.output
    assert "second factors removed" in result.output
    rows = await execute(
        cli_app.config["DATABASE_URL"], "SELECT totp_secret, (SELECT count(*) FROM recovery_codes) FROM users"
    )
    assert rows == [(None, 0)]
    async with cli_app.test_app():
        assert (await AuthActions(cli_app.test_client()).signin("alice", PASSWORD)).headers["Location"] == "/"
    assert (await run(cli_app, "reset-second-factors", "nobody")).exit_code == 1
