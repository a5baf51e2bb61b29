"""Trusted browsers: "don't ask for a code on this browser", a cookie that skips the second step only.

The cookie holds a random 256-bit token; the database keeps its SHA-256, the account it belongs
to, when it expires and where it was granted. It never stands in for the first factor: a
trusted browser still needs the password (or a code by mail), and only then skips the second
step, and only for the account that trusted it. Everything that says "the way in may have
leaked" revokes every trust of the account: a new password, a second factor turned off, an
operator's reset of the second factors, a disabled account.
"""

from datetime import timedelta

from quart import after_this_request, current_app, request
from quart.wrappers import Response as QuartResponse
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.wrappers import Response

from ..audit import audit
from ..db.engine import rowcount
from ..db.models import User, USER_AGENT_MAX_LENGTH, utcnow
from ..random_tokens import new_token, token_digest
from ..web.client import client_address
from ..web.cookies import cookie_name, secure_cookies
from .models import TrustedBrowser

COOKIE = "quartapp_trust"
DAY = 24 * 60 * 60


def offered() -> bool:
    return bool(current_app.config["TRUSTED_BROWSER_DAYS"])


async def grant(db: AsyncSession, user: User) -> None:
    """Trust this browser for the user: a row, and its cookie on this request's response. Committed by the caller."""
    days = current_app.config["TRUSTED_BROWSER_DAYS"]
    token, browser_id = new_token()
    db.add(
        TrustedBrowser(
            id=browser_id,
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=days),
            address=client_address(),
            user_agent=request.user_agent.string[:USER_AGENT_MAX_LENGTH] or None,
        )
    )
    secure, name = secure_cookies(), cookie_name(COOKIE)

    @after_this_request
    async def set_cookie(response: QuartResponse | Response) -> QuartResponse | Response:
        response.set_cookie(name, token, max_age=days * DAY, path="/", secure=secure, httponly=True, samesite="Lax")
        return response

    audit("second_factor.trusted", username_key=user.username_key, browser_id=browser_id)


def held() -> bool:
    """Whether this request carries a trust cookie at all (checked or not)."""
    return cookie_name(COOKIE) in request.cookies


async def recognised(db: AsyncSession, user: User) -> bool:
    """Whether this browser holds a live trust of user's; its last use is recorded. Not committed."""
    token = request.cookies.get(cookie_name(COOKIE))
    if not offered() or not token or len(token) > 128:
        return False
    now = utcnow()
    # Only the account that granted it: a trust cookie of another account's skips nothing.
    statement = update(TrustedBrowser).where(
        TrustedBrowser.id == token_digest(token), TrustedBrowser.user_id == user.id, TrustedBrowser.expires_at > now
    )
    if not await rowcount(db, statement.values(last_used_at=now)):
        return False
    audit("second_factor.trust_used", username_key=user.username_key, browser_id=token_digest(token))
    return True


async def list_for_user(db: AsyncSession, user_id: int) -> list[TrustedBrowser]:
    statement = select(TrustedBrowser).where(TrustedBrowser.user_id == user_id, TrustedBrowser.expires_at > utcnow())
    return list(await db.scalars(statement.order_by(TrustedBrowser.created_at.desc())))


async def revoke(db: AsyncSession, user_id: int, browser_id: str) -> bool:
    """Stop trusting one of the user's browsers; False if it named none of theirs."""
    statement = delete(TrustedBrowser).where(TrustedBrowser.id == browser_id, TrustedBrowser.user_id == user_id)
    return bool(await rowcount(db, statement))


async def revoke_all(db: AsyncSession, user_id: int, *, why: str) -> int:
    """Stop trusting every browser of the user (why: the event, for the audit log); return how many were."""
    if count := await rowcount(db, delete(TrustedBrowser).where(TrustedBrowser.user_id == user_id)):
        key = await db.scalar(select(User.username_key).where(User.id == user_id))
        audit("second_factor.trust_revoked", username_key=key, reason=why, count=count)
    return count


async def delete_expired(db: AsyncSession) -> int:
    return await rowcount(db, delete(TrustedBrowser).where(TrustedBrowser.expires_at <= utcnow()))
