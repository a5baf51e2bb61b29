from typing import Any

from quart import current_app, session
from wtforms import Form, PasswordField, StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired


class SignInForm(Form):
    """The chapter's username and password form; its CSRF token lives in Quart's session cookie."""

    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            return str(current_app.config["SECRET_KEY"]).encode()

        @property
        def csrf_context(self) -> Any:
            return session
