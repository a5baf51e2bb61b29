"""The second step of signing in: after the right password, a code or a passkey, then the session.

A browser the user trusted (mfa/trust.py) skips it.
"""

from quart import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.wrappers import Response

from ..answers import too_many
from ..audit import audit
from ..db.engine import get_session
from ..db.models import User
from ..fields import Check, Text
from ..forms import Form
from ..i18n import _, _l
from ..login import safe_next, sign_in
from . import challenges, recovery_codes, totp, trust
from .factors import attempt_limits, has_passkeys

bp = Blueprint("mfa", __name__)

# One message for a wrong, a missing and an already used code: the page tells nothing more.
MALFORMED_CODE = _l("Enter the 6 digits from your app, or a recovery code (four groups of four).")
INVALID_CODE = _l("That code is not right or was already used. Enter the newest one, or a recovery code.")


class CodeForm(Form):
    # No DataRequired: a missing code gets the same answer as a wrong one.
    code = Text(_l("Code"))
    trust = Check(_l("Don't ask for a code on this browser"))


async def begin(user: User, *, remember: bool) -> Response:
    """The password was right: hold the sign-in server-side and ask for the second factor.

    No session exists until the second factor is given, so the half-signed-in visitor is
    anonymous to every protected page; the hold expires after SECOND_FACTOR_TIMEOUT.
    """
    db = get_session()
    if await trust.recognised(db, user):
        await sign_in(user, remember=remember)  # commits the trust's last use with the session
        return redirect(safe_next(request.args.get("next")), 303)
    lifetime = current_app.config["SECOND_FACTOR_TIMEOUT"]
    await challenges.issue(db, challenges.SIGNIN, lifetime, user_id=user.id, data="remember" if remember else "")
    await db.commit()
    return redirect(url_for("mfa.second_factor", next=request.args.get("next")), 303)


async def pending_user(db: AsyncSession) -> User | None:
    """The user whose password this visitor gave within the timeout, if any."""
    pending = await challenges.current(db, challenges.SIGNIN)
    return await db.get(User, pending.user_id) if pending and pending.user_id else None


async def finish(db: AsyncSession, user: User, *, trusted: bool = False) -> Response | None:
    """Turn the held sign-in into a session (once: of two requests at once, one gets it);
    trusted: skip this step on this browser from now on, if the app offers it."""
    pending = await challenges.take(db, challenges.SIGNIN)
    if pending is None or pending.user_id != user.id or user.disabled_at is not None:
        return None
    if trusted and trust.offered():
        await trust.grant(db, user)
    await sign_in(user, remember=pending.data == "remember")
    return redirect(safe_next(request.args.get("next")), 303)


async def expired() -> Response:
    await flash(_("That sign-in took too long. Sign in again."))
    return redirect(url_for("auth.signin", next=request.args.get("next")), 303)


@bp.get("/signin/second-factor")
async def second_factor() -> Response | str:
    db = get_session()
    if (user := await pending_user(db)) is None:
        return await expired()
    return await _page(db, user, CodeForm())


@bp.post("/signin/second-factor")
async def second_factor_submit() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Check a TOTP code or a recovery code, throttled per account and network like passwords."""
    db = get_session()
    form = await CodeForm.from_request()
    if (user := await pending_user(db)) is None:
        return await expired()
    if not form.validate_on_submit():
        return await _page(db, user, form), form.status_code
    if not totp.looks_like_code(form.code.data) and not recovery_codes.looks_like_code(form.code.data):
        # A slip of the keyboard, not a guess: said as such, and not counted against the account.
        form.code.errors.append(MALFORMED_CODE)
        return await _page(db, user, form)
    limits = attempt_limits(user)
    if wait := await limits.wait(db):
        audit("second_factor.throttled", username_key=user.username_key, retry_after=wait)
        message, retry_after = too_many(_("Too many wrong codes."), wait)
        form.form_errors.append(message)
        return await _page(db, user, form), 429, retry_after
    code = form.code.data
    if totp.looks_like_code(code):
        accepted, via = user.totp_secret is not None and await totp.accept(db, user, code), "totp"
    else:
        accepted, via = await recovery_codes.use(db, user.id, code), "recovery_code"
    if accepted:
        if (response := await finish(db, user, trusted=form.trust.data)) is None:
            await db.rollback()  # another request finished this sign-in first: the code stays unspent
            return await expired()
        await limits.record_success(db)
        await db.commit()
        audit("second_factor.success", username_key=user.username_key, via=via)
        if via == "recovery_code":
            await recovery_codes.after_use(db, user)
        return response
    await limits.record_failure(db)
    await db.commit()
    audit("second_factor.failure", username_key=user.username_key)
    form.form_errors.append(INVALID_CODE)
    return await _page(db, user, form)


async def _page(db: AsyncSession, user: User, form: CodeForm) -> str:
    return await render_template(
        "mfa/second_factor.html", form=form, totp=user.totp_secret is not None, passkeys=await has_passkeys(db, user.id)
    )
