from typing import cast

import quart_auth
from quart import current_app, request
from quart_auth import Action, AuthUser, Unauthorized

from . import auth_sessions
from .auth_sessions import SignedIn
from .web.client import client_address


class CurrentUser(AuthUser):
    """The visitor, resolved at most once per request from the session row its cookie names."""

    def __init__(self, auth_id: str | None, action: Action = Action.PASS) -> None:
        # Only this app signs auth cookies, with a string; anything else is nobody.
        super().__init__(auth_id if isinstance(auth_id, str) else None, action)
        self._signed_in: SignedIn | None = None
        self._resolved = auth_id is None

    async def _resolve(self) -> SignedIn | None:
        if not self._resolved and self.auth_id is not None:
            self._resolved = True
            self._signed_in = await auth_sessions.resolve(
                current_app.extensions["db_reader"],
                self.auth_id,
                address=client_address(),
                user_agent=request.user_agent.string,
            )
            if self._signed_in is None and self.action is Action.PASS:
                self.action = Action.DELETE  # signed out, expired or revoked: drop the dead cookie
        return self._signed_in

    @property
    async def is_authenticated(self) -> bool:
        return await self._resolve() is not None

    @property
    async def user(self) -> SignedIn | None:
        """The signed-in user (user_id, username, username_key) and their session_id."""
        return await self._resolve()


# Quart-Auth's proxy to this request's user, typed as the class the app installs.
current_user = cast(CurrentUser, quart_auth.current_user)


async def signed_in_user() -> SignedIn:
    """Return the signed-in user, in a view behind @login_required (anonymous: Unauthorized)."""
    user = await current_user.user
    if user is None:
        raise Unauthorized()
    return user
