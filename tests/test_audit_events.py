"""The audit events kept in the database: which, written when, kept how long, and by the commands."""

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

import quartapp
from quartapp import housekeeping
from quartapp.audit import erasure
from quartapp.audit.models import AuditEvent
from quartapp.audit.writer import AuditWriter
from quartapp.config import ConfigurationError
from quartapp.db.models import User

from .conftest import AuthActions, make_app, migrated, PASSWORD, rows, run
from .test_account_deletion import stored_events


async def test_events_about_an_account_are_stored_and_floods_of_refusals_are_not(app, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    await AuthActions(app.test_client()).signup("alice")
    attacker = AuthActions(app.test_client(), address="203.0.113.9")
    for _ in range(8):  # five free failures, then the account is throttled
        await attacker.signin("alice", "wrong password")
    await attacker.post("/reset", {"email": "nobody@example.org"}, token_from="/reset")  # names no account
    for _ in range(100):  # a reset for an unknown address is answered first, then looked into
        logged = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "quartapp.audit"]
        if "reset.requested" in logged:
            break
        await asyncio.sleep(0.02)
    assert "signin.throttled" in logged
    assert "reset.requested" in logged
    stored = [(e.event, e.username_key, e.address) for e in await stored_events(app)]
    assert stored == [
        ("signup", "alice", "<local>"),
        ("signin.success", "alice", "<local>"),
        *[("signin.failure", "alice", "203.0.113.9")] * 6,
    ]


@pytest.mark.parametrize("quartapp_config", [{"AUDIT_FLUSH_INTERVAL": 0.05}])
async def test_a_running_app_writes_its_events_without_being_asked(app):
    await AuthActions(app.test_client()).signup("alice")
    for _ in range(100):
        if len(await rows(app, AuditEvent)) == 2:
            return
        await asyncio.sleep(0.02)
    pytest.fail("the writer never wrote the events")


class FlakyDatabase:
    """A session maker whose sessions fail to write while `down` is set."""

    def __init__(self, real) -> None:
        self.real, self.down = real, True

    def __call__(self):
        if self.down:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("the database is away"))
        return self.real()


async def test_events_wait_while_the_database_is_away_and_are_written_once_it_is_back(app, caplog):
    flaky = FlakyDatabase(app.extensions["db_sessionmaker"])
    writer = AuditWriter(flaky, app.config | {"AUDIT_FLUSH_INTERVAL": 60})
    app.extensions["audit_writer"] = writer
    async with app.app_context():
        quartapp.audit.audit("signin.failure", username_key="alice", note="while away")
    await writer.flush()
    assert len(writer.pending) == 1
    assert "audit events not stored yet (1 waiting)" in caplog.text
    flaky.down = False
    await writer.flush()
    assert writer.pending == []
    [event] = [e for e in await rows(app, AuditEvent) if e.event == "signin.failure"]
    assert json.loads(event.data) == {"note": "while away"}


async def test_events_are_deleted_after_the_retention_and_not_before(app, clock):
    await AuthActions(app.test_client()).signup("alice")
    await stored_events(app)
    clock.advance(days=364)
    await AuthActions(app.test_client()).signin("alice", PASSWORD)
    await stored_events(app)
    clock.advance(days=2)
    await housekeeping.run_once(app)
    assert [e.event for e in await rows(app, AuditEvent)] == ["signin.success"]


@pytest.mark.parametrize("quartapp_config", [{"AUDIT_RETENTION_DAYS": None}])
async def test_a_retention_of_null_keeps_them_for_ever(app, clock):
    await AuthActions(app.test_client()).signup("alice")
    await stored_events(app)
    clock.advance(days=3650)
    await housekeeping.run_once(app)
    assert len(await rows(app, AuditEvent)) == 2


@pytest.mark.parametrize(
    ("setting", "value"),
    [("AUDIT_RETENTION_DAYS", 0), ("AUDIT_RETENTION_DAYS", "a year"), ("AUDIT_FLUSH_INTERVAL", 0)],
)
def test_retention_and_flush_settings_are_checked(tmp_path, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        make_app(tmp_path, **{setting: value})


async def test_commands_store_their_events_too(cli_app):
    result = await run(cli_app, "create-user", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    [event] = await rows(cli_app, AuditEvent)
    assert (event.event, event.username_key, json.loads(event.data)) == ("signup", "alice", {"via": "cli"})


async def test_delete_user_deletes_as_the_page_does_and_names_the_pseudonym(cli_app):
    async with cli_app.test_app():
        await AuthActions(cli_app.test_client()).signup("alice")
        await AuthActions(cli_app.test_client()).signup("bob")
    result = await run(cli_app, "delete-user", "ALICE", input="n\n")
    assert result.exit_code == 1
    assert "Delete ALICE and everything it holds, for good?" in result.output
    assert len(await rows(cli_app, User)) == 2

    result = await run(cli_app, "delete-user", "alice", "--yes")
    assert result.exit_code == 0, result.output
    alias = erasure.pseudonym(cli_app.config, "username", "alice")
    assert result.output == f"Deleted alice (1 sessions).\nIts 2 audit event(s) now name {alias}.\n"
    assert [u.username for u in await rows(cli_app, User)] == ["bob"]
    events = await rows(cli_app, AuditEvent)
    assert {e.username_key for e in events} == {alias, "bob"}
    [deleted] = [e for e in events if e.event == "account.deleted"]
    assert json.loads(deleted.data)["via"] == "cli"

    result = await run(cli_app, "delete-user", "alice", "--yes")
    assert (result.exit_code, result.output.strip()) == (1, "Error: there is no user 'alice'")


async def test_pseudonym_tells_the_operator_what_a_name_or_address_became(cli_app):
    cli_app.config["SECRET_KEY_FALLBACKS"] = ["an older key"]
    result = await run(cli_app, "pseudonym", "Alice")
    assert result.exit_code == 0, result.output
    current, old = result.output.split()
    assert current == erasure.pseudonym(cli_app.config, "username", "alice")
    assert old.startswith("erased:")
    assert old != current
    result = await run(cli_app, "pseudonym", "--address", "203.0.113.9")
    assert result.output.split()[0] == erasure.pseudonym(cli_app.config, "address", "203.0.113.9")


def test_pseudonyms_are_keyed(tmp_path):
    one = make_app(tmp_path / "one", SECRET_KEY="one")
    two = make_app(tmp_path / "two", SECRET_KEY="two")
    assert erasure.pseudonym(one.config, "username", "alice") != erasure.pseudonym(two.config, "username", "alice")
    assert erasure.pseudonym(one.config, "username", "alice") == erasure.pseudonym(one.config, "username", "alice")
    assert timedelta(days=one.config["AUDIT_RETENTION_DAYS"]) == timedelta(days=365)


async def test_a_name_no_account_could_have_stays_in_the_log_and_blocks_no_other_row(app, caplog):
    caplog.set_level(logging.INFO, logger="quartapp.audit")
    await AuthActions(app.test_client()).signup("alice")
    for typed in ("nul\x00byte", "correct horse battery"):  # a NUL byte; a password in the wrong field
        await AuthActions(app.test_client()).signin(typed, "wrong password")
    await AuthActions(app.test_client()).signin("alice", "wrong password")
    assert "correct horse battery" in caplog.text  # the operator's log has every attempt
    stored = [(e.event, e.username_key) for e in await stored_events(app)]
    assert stored == [("signup", "alice"), ("signin.success", "alice"), ("signin.failure", "alice")]


async def test_a_row_the_database_refuses_for_good_loses_only_itself(app, caplog):
    writer = app.extensions["audit_writer"]
    real = writer._insert

    async def refusing(rows):
        if any(row["event"] == "poison" for row in rows):
            raise DataError("INSERT", {}, ValueError("value too long"))
        await real(rows)

    writer._insert = refusing
    async with app.app_context():
        for event in ("signup", "poison", "signin.success"):
            quartapp.audit.audit(event, username_key="alice")
    await writer.flush()
    assert writer.pending == []
    assert [e.event for e in await rows(app, AuditEvent)] == ["signup", "signin.success"]
    assert "an audit event could not be stored" in caplog.text


async def test_events_of_tasks_that_end_after_the_writer_are_still_written(tmp_path):
    app = make_app(tmp_path)
    await asyncio.to_thread(migrated, app)
    async with app.test_app():

        async def late_mail() -> None:  # as a mail task audits, after the shutdown began
            await asyncio.sleep(0.2)
            quartapp.audit.audit("email.verification_sent", username_key="alice")

        app.add_background_task(late_mail)
    assert [e.event for e in await rows(app, AuditEvent)] == ["email.verification_sent"]


class Refusal(Exception):
    """What asyncpg's errors look like to SQLAlchemy: a DBAPI error with a SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["57P03", "53300", "40P01", "57014"])  # starting up, too many clients, ...
async def test_a_postgresql_that_is_starting_or_overloaded_keeps_the_rows_waiting(app, sqlstate):
    writer = app.extensions["audit_writer"]
    real, tries = writer._insert, []

    async def starting(rows):
        tries.append(len(rows))
        raise DBAPIError("INSERT", {}, Refusal(sqlstate))

    writer._insert = starting
    async with app.app_context():
        for _ in range(3):
            quartapp.audit.audit("signin.failure", username_key="alice")
    assert await writer.flush() is False
    assert (tries, len(writer.pending)) == ([3], 3)  # one try for the batch, nothing dropped
    writer._insert = real
    assert await writer.flush() is True
    assert len(await rows(app, AuditEvent)) == 3


async def test_a_flush_cancelled_at_shutdown_keeps_its_batch(app):
    writer = app.extensions["audit_writer"]

    async def stuck(rows):
        await asyncio.Event().wait()

    writer._insert = stuck
    async with app.app_context():
        quartapp.audit.audit("signup", username_key="alice")
    task = asyncio.ensure_future(writer.flush())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [row["event"] for row in writer.pending] == ["signup"]
    del writer._insert  # the class's own again: the app's shutdown writes the row


async def test_a_database_that_is_away_is_tried_once_an_interval_however_many_events_come(app):
    tries = []

    def away():
        tries.append(1)
        raise OperationalError("INSERT", {}, ConnectionRefusedError("away"))

    writer = AuditWriter(away, app.config | {"AUDIT_FLUSH_INTERVAL": 0.2})
    stop = asyncio.Event()
    loop = asyncio.ensure_future(writer.run(stop))
    for _ in range(20):  # 3,000 events in 0.4 s: full batches, each waking the writer
        for _ in range(150):
            writer.add(at=None, event="signin.failure", username_key="alice", address=None, session_id=None, data={})
        await asyncio.sleep(0.02)
    stop.set()
    await loop
    assert len(tries) <= 5  # about one a 0.2 s interval, not one per full batch
    assert len(writer.pending) == 3000
