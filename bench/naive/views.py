import bcrypt
from quart import Blueprint, current_app, redirect, render_template, request, url_for
from quart.typing import ResponseReturnValue
from quart_auth import AuthUser, current_user, login_required, login_user, logout_user, Unauthorized
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .forms import SignInForm
from .models import User

bp = Blueprint("views", __name__)


def db() -> AsyncSession:
    session: AsyncSession = current_app.extensions["db"]()
    return session


@bp.route("/signin", methods=["GET", "POST"])
async def signin() -> ResponseReturnValue:
    """Show the sign-in form; sign in with valid credentials."""
    form = SignInForm(await request.form)
    if request.method == "POST" and form.validate():
        async with db() as session:
            user = await session.scalar(select(User).filter_by(username=form.username.data))
        # bcrypt right here, as the synchronous chapter does: it holds the event loop meanwhile.
        if user is not None and bcrypt.checkpw((form.password.data or "").encode(), user.password.encode()):
            login_user(AuthUser(str(user.id)))
            return redirect(url_for("views.index"))
        return redirect(url_for("views.signin"))
    return await render_template("signin.html", form=form)


@bp.route("/signout")
async def signout() -> ResponseReturnValue:
    """Sign out."""
    logout_user()
    return redirect(url_for("views.index"))


@bp.route("/")
@login_required
async def index() -> str:
    """The signed-in user's page."""
    async with db() as session:
        user = await session.get(User, int(current_user.auth_id or 0))
    return await render_template("index.html", user=user)


@bp.app_errorhandler(Unauthorized)
async def to_signin(error: Unauthorized) -> ResponseReturnValue:
    return redirect(url_for("views.signin"))


@bp.route("/healthz")
async def healthz() -> dict[str, str]:
    """Answer once the database does."""
    async with db() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/plain")
async def plain() -> str:
    """The cheapest route: no database, no session, no template."""
    return "ok"
