"""The audit log: one JSON line per security event, and the events about accounts kept in a table.

The log line is the operator's whole record. The `audit_events` table keeps the events that
name an account, so its owner can take them away (the export) and its deletion can pseudonymise
them (quartapp.audit.erasure); rows older than AUDIT_RETENTION_DAYS go at housekeeping.
"""

import json
import logging

from quart import current_app, has_app_context, has_request_context, Quart

from ..db.models import utcnow
from ..web.client import client_address
from .models import USERNAME_KEY_MAX_LENGTH
from .writer import AuditWriter

audit_log = logging.getLogger("quartapp.audit")
log = logging.getLogger(__name__)


def stored(event: str, username_key: str | None) -> bool:
    """Whether an event goes into the table as well as the log.

    Only events naming an account, or a name one could have, do: the others serve no export and
    no erasure. A typed "name" with a space or a control character (a sentence, often a password
    typed into the wrong field; a NUL byte, which PostgreSQL refuses) is no username and stays
    in the log alone. So do refusals of a client already throttled: they cost an attacker
    nothing, and storing each would let a flood grow the table as fast as it sends.
    """
    if username_key is None or not username_key.isprintable() or any(c.isspace() for c in username_key):
        return False
    return not event.endswith(".throttled")


def init_app(app: Quart) -> None:
    """Make the app's INFO lines and the audit lines visible unless logging is configured; run the writer.

    Call it before the database's init_app: Quart runs after_serving hooks in the order they were
    added, and the writer's last rows must be written before the engine is disposed.
    """
    # Quart gives the "quartapp" logger a stderr handler unless logging is configured; its
    # INFO lines (the database closing at shutdown) would otherwise be dropped.
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
    # Audit lines are JSON alone, one per line, ready for a log shipper.
    if not audit_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit_log.addHandler(handler)
        audit_log.propagate = False

    @app.before_serving
    async def start_writer() -> None:
        # Made in each worker once serving starts (after the fork); its sessions come from the
        # worker's engine, opened by the next before_serving hook.
        writer = AuditWriter(lambda: app.extensions["db_sessionmaker"](), app.config)
        app.extensions["audit_writer"] = writer
        app.add_background_task(writer.run, app.shutdown_event)

    @app.after_serving
    async def stop_writer() -> None:
        # After the background tasks (mails audit too), before the engine goes. Quart runs no
        # further after_serving hook once one raises: the engine must be disposed whatever happens.
        try:
            if (writer := app.extensions.pop("audit_writer", None)) is not None and not await writer.flush():
                log.warning(
                    "%d audit events could not be stored before shutdown; the log has them", len(writer.pending)
                )
        except Exception:
            log.exception("writing the last audit events failed; the log has them")


def audit(event: str, *, username_key: str | None = None, session_id: str | None = None, **fields: object) -> None:
    """Log one security event as a JSON line: who, from where, which session (by its hash).

    Never pass a password or a raw token: session_id is the stored SHA-256 of the token.
    """
    if username_key is not None:
        username_key = username_key[:USERNAME_KEY_MAX_LENGTH]  # a sign-in may type any length
    now = utcnow()
    address = fields.pop("address", client_address() if has_request_context() else None)
    record: dict[str, object] = {
        "time": now.isoformat(timespec="seconds"),
        "event": event,
        "username_key": username_key,
    }
    record |= ({"address": address} if address is not None else {}) | {"session_id": session_id} | fields
    audit_log.info(json.dumps(record, ensure_ascii=False))
    writer: AuditWriter | None = current_app.extensions.get("audit_writer") if has_app_context() else None
    if writer is not None and stored(event, username_key):
        writer.add(at=now, event=event, username_key=username_key, address=address, session_id=session_id, data=fields)


async def write_pending() -> None:
    """Write this worker's pending events now (before reading the table)."""
    writer: AuditWriter | None = current_app.extensions.get("audit_writer")
    if writer is not None:
        await writer.flush()
