"""The app's commands (`quart --app quartapp --help` lists them).

Quart's CLI runs no event loop for its commands (quart#361): each runs its own (running.run).
"""

from quart import Quart

from . import accounts, lifecycle


def init_app(app: Quart) -> None:
    """Register the app's commands."""
    accounts.register(app)
    lifecycle.register(app)
