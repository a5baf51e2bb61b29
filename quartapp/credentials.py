from quart import current_app
from sqlalchemy import update

from .audit import audit
from .db.engine import get_session
from .db.models import get_user_by_username, User, username_key
from .hasher import Overloaded
from .passwords import admit, hash_password, needs_rehash, verify_password
from .throttle import Limits
from .web.client import client_address


async def authenticate(username: str, password: str) -> tuple[User | None, int]:
    """Check a username and password under throttling: (the user or None, seconds to wait).

    A throttled attempt costs no bcrypt work. Otherwise every attempt costs one bcrypt check,
    against a dummy hash for unknown names, so timing tells no one which names exist.
    """
    admit()  # a sign-in that would be refused for overload touches no database first
    db = get_session()
    limits = Limits(username, client_address())
    if wait := await limits.wait(db):
        audit("signin.throttled", username_key=username_key(username), retry_after=wait)
        return None, wait
    user = await get_user_by_username(db, username)
    # End the read transaction, so its pooled connection is free while bcrypt runs (a third
    # of a second at cost 12); the user object stays readable (expire_on_commit=False).
    await db.commit()
    verified = await verify_password(password, user.password_hash if user else None)
    # A disabled account spends the same bcrypt check and gets the same answer as a wrong password.
    if verified and user is not None and user.disabled_at is None:
        await limits.record_success(db)
        await db.commit()
        if needs_rehash(user.password_hash):
            # After the response: the new hash costs a full bcrypt run nobody should wait for.
            current_app.add_background_task(_upgrade_hash, user.id, user.password_hash, password)
        return user, 0
    await limits.record_failure(db)
    await db.commit()
    if verified:
        audit("signin.failure", username_key=username_key(username), disabled=True)  # for the operator's eyes only
    else:
        audit("signin.failure", username_key=username_key(username))
    return None, 0


async def _upgrade_hash(user_id: int, old_hash: str, password: str) -> None:
    """Re-hash a password at the configured cost, unless it was changed in the meantime."""
    try:
        new_hash = await hash_password(password)
    except Overloaded:
        return  # sign-ins come first; the next sign-in will try again
    db = get_session()
    await db.execute(
        update(User).where(User.id == user_id, User.password_hash == old_hash).values(password_hash=new_hash)
    )
    await db.commit()
