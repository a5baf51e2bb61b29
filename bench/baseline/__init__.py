import click
from flask import Flask
from flask_bcrypt import Bcrypt
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
bcrypt = Bcrypt()
login_manager = LoginManager()
login_manager.login_view = "views.signin"


def create_app() -> Flask:
    """Create the chapter's app, configured by BASELINE_* environment variables."""
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite:///baseline.sqlite3", BCRYPT_LOG_ROUNDS=12)
    # BASELINE_SECRET_KEY, BASELINE_SQLALCHEMY_DATABASE_URI, BASELINE_BCRYPT_LOG_ROUNDS.
    app.config.from_prefixed_env("BASELINE")
    db.init_app(app)
    bcrypt.init_app(app)
    login_manager.init_app(app)

    from . import views

    app.register_blueprint(views.bp)
    app.cli.add_command(init_db)
    return app


@click.command("init-db")
def init_db() -> None:
    """Create the tables."""
    from . import models  # noqa: F401  (registers the User table)

    db.create_all()
