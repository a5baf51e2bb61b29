from functools import lru_cache

from quart import Blueprint, flash, redirect, render_template, url_for
from quart_auth import login_required, logout_user
from ua_parser import parse
from werkzeug.wrappers import Response

from . import auth_sessions, guessable
from .audit import audit
from .current_user import signed_in_user
from .db.engine import get_session
from .db.models import User
from .forms import ButtonForm, CSRFError, NewPasswordForm, require_csrf, RevokeSessionForm
from .i18n import _, ngettext
from .mfa import trust
from .password_change import replace_password
from .passwords import hash_password, hashes_password
from .reauth import recent_signin_required

bp = Blueprint("account", __name__)


@bp.get("/sessions")
@login_required
async def sessions_page() -> str:
    """List the user's signed-in browsers, each with a button to sign it out."""
    user = await signed_in_user()
    return await render_template(
        "account/sessions.html",
        sessions=await auth_sessions.list_for_user(get_session(), user.user_id),
        current_id=user.session_id,
        revoke_form=RevokeSessionForm(),
        others_form=ButtonForm(),
        trusted=await trust.list_for_user(get_session(), user.user_id),
    )


@bp.post("/sessions/revoke")
@login_required
async def revoke_session() -> Response:
    """Sign out one of the user's sessions; revoking this one signs this browser out."""
    form = await RevokeSessionForm.from_request()
    if not form.validate_on_submit():
        raise CSRFError()
    user = await signed_in_user()
    if await auth_sessions.end(get_session(), form.session_id.data, user_id=user.user_id):
        await get_session().commit()
        audit("session.revoked", username_key=user.username_key, session_id=form.session_id.data)
    if form.session_id.data == user.session_id:
        logout_user()
        return redirect(url_for("auth.signin"), 303)
    await flash(_("That session was signed out."))
    return redirect(url_for("account.sessions_page"), 303)


@bp.post("/sessions/revoke-others")
@login_required
async def revoke_other_sessions() -> Response:
    """Sign out every session of the user but this one."""
    await require_csrf()
    user = await signed_in_user()
    count = await auth_sessions.end_all(get_session(), user.user_id, keep=user.session_id)
    await get_session().commit()
    audit("session.revoked", username_key=user.username_key, session_id=user.session_id, others=count)
    await flash(ngettext("Signed out %(num)d other session.", "Signed out %(num)d other sessions.", count))
    return redirect(url_for("account.sessions_page"), 303)


@bp.post("/sessions/trusted/revoke")
@login_required
async def revoke_trust() -> Response:
    """Stop trusting one of the user's browsers: its next sign-in asks for the second factor again."""
    form = await RevokeSessionForm.from_request()
    if not form.validate_on_submit():
        raise CSRFError()
    user, db = await signed_in_user(), get_session()
    if await trust.revoke(db, user.user_id, form.session_id.data):
        await db.commit()
        audit("second_factor.trust_revoked", username_key=user.username_key, browser_id=form.session_id.data)
        await flash(_("That browser will be asked for the second step again."))
    return redirect(url_for("account.sessions_page"), 303)


@bp.get("/password")
@recent_signin_required
async def password() -> str:
    user = await signed_in_user()
    return await render_template("account/password.html", form=NewPasswordForm(username=user.username))


@bp.post("/password")
@hashes_password
@recent_signin_required
async def password_submit() -> Response | tuple[str, int]:
    """Change the password; every other session is signed out.

    No "current password" field: recent_signin_required has just had the password proved
    (within RECENT_SIGNIN_WINDOW), as GitHub's sudo mode does, instead of asking twice.
    """
    user = await signed_in_user()
    form = await NewPasswordForm.from_request(username=user.username)
    db = get_session()
    account = await db.get(User, user.user_id)
    email = account.email if account else None
    await db.commit()  # no connection held while bcrypt runs
    if form.validate_on_submit() and not await guessable.refused(form.password, username=user.username, email=email):
        new_hash = await hash_password(form.password.data)
        revoked = await replace_password(db, user.user_id, new_hash, keep_session=user.session_id)
        await db.commit()
        audit("password.changed", username_key=user.username_key, session_id=user.session_id, revoked=revoked)
        await flash(_("Your password was changed and your other sessions were signed out."))
        return redirect(url_for("account.sessions_page"), 303)
    return await render_template("account/password.html", form=form), form.status_code


@bp.app_template_filter("browser")
def describe_browser(user_agent: str | None) -> str:
    """Return "Firefox 140 on Linux" for a User-Agent header, or a short fallback."""
    name, system = _parsed(user_agent or "")
    if name is None:
        return (user_agent or _("Unknown browser"))[:60]
    return _("%(browser)s on %(system)s", browser=name, system=system) if system is not None else name


@lru_cache(maxsize=1024)
def _parsed(user_agent: str) -> tuple[str | None, str | None]:
    """The browser's name and version, and its system, from a User-Agent header (parsing is slow)."""
    result = parse(user_agent)
    if result.user_agent is None:
        return None, None
    name = " ".join(filter(None, (result.user_agent.family, result.user_agent.major)))
    return name, result.os.family if result.os is not None else None
