"""The audit log: one JSON line per security event, and the app's log lines made visible."""

import json
import logging
from datetime import datetime, UTC

from quart import has_request_context, Quart

from .web.client import client_address

audit_log = logging.getLogger("quartapp.audit")


def init_app(app: Quart) -> None:
    """Make the app's INFO lines and the audit lines visible unless logging is configured."""
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


def audit(event: str, *, username_key: str | None = None, session_id: str | None = None, **fields: object) -> None:
    """Log one security event as a JSON line: who, from where, which session (by its hash).

    Never pass a password or a raw token: session_id is the stored SHA-256 of the token.
    """
    if username_key is not None:
        username_key = username_key[:128]  # a sign-in may type any length; the log stays readable
    record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, "username_key": username_key}
    if has_request_context():
        record["address"] = client_address()
    record["session_id"] = session_id
    audit_log.info(json.dumps(record | fields, ensure_ascii=False))
