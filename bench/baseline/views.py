from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user
from sqlalchemy import text

from . import db
from .forms import UsernamePasswordForm
from .models import User

bp = Blueprint("views", __name__)


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> ResponseReturnValue:
    """Show the sign-in form; sign in with valid credentials."""
    form = UsernamePasswordForm()
    if form.validate_on_submit():
        user = User.query.filter_by(username=form.username.data).first_or_404()
        if user.is_correct_password(form.password.data):
            login_user(user)
            return redirect(url_for("views.index"))
        return redirect(url_for("views.signin"))
    return render_template("signin.html", form=form)


@bp.route("/signout")
def signout() -> ResponseReturnValue:
    """Sign out."""
    logout_user()
    return redirect(url_for("views.index"))


@bp.route("/")
@login_required  # type: ignore[untyped-decorator]  # Flask-Login publishes no types
def index() -> str:
    """The signed-in user's page."""
    return render_template("index.html")


@bp.route("/healthz")
def healthz() -> dict[str, str]:
    """Answer once the database does."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/plain")
def plain() -> str:
    """The cheapest route: no database, no session, no template."""
    return "ok"
