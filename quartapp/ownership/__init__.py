"""Account ownership: a user takes their data away (export) or deletes their account.

An application built on quartapp keeps its own data about users; these signals let it take part
(docs/building-on.md shows both, examples/notes uses them):

- `account_deleting(app, db=, user=)`: inside the deletion's transaction, before quartapp's rows
  go. Delete what foreign keys do not cascade with `db` (its commit is the deletion's); raise
  DeletionRefused("You still own the team Ops: hand it over first.") to keep the account, the
  message shown to the person, and nothing changes.
- `account_deleted(app, user_id=, username=)`: after the commit, for what is outside the
  database (files, a search index, a mailing list).
- `account_exporting(app, db=, user=)`: each receiver returns a dict of sections added to the
  account's export, such as {"notes": [...]}; a section may not reuse one of quartapp's names.

Foreign keys to users.id declared ON DELETE CASCADE need no receiver at all.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from blinker import Namespace, Signal
from quart import current_app


class DeletionRefused(Exception):
    """An account_deleting receiver's refusal; str() of it tells the person why and what to do."""


_signals = Namespace()
account_deleting = _signals.signal("quartapp.account-deleting")
account_deleted = _signals.signal("quartapp.account-deleted")
account_exporting = _signals.signal("quartapp.account-exporting")


async def send(signal: Signal, **kwargs: Any) -> list[tuple[Callable[..., Any], Any]]:
    """Send signal from the current app to its receivers, coroutine functions or plain ones."""
    return await signal.send_async(current_app._get_current_object(), _sync_wrapper=_awaitable, **kwargs)


def _awaitable(function: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    # Called in place, not in a thread as Quart's ensure_async would: a receiver may use the
    # request's database session, which belongs to this task.
    async def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return call
