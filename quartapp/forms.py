from datetime import timedelta
from typing import Self

import wtforms
from quart import current_app, request, session
from werkzeug.exceptions import BadRequest
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .models import normalize_username, USERNAME_MAX_LENGTH, USERNAME_PATTERN
from .passwords import MAX_PASSWORD_BYTES, password_too_long


class CSRFError(BadRequest):
    description = "This form has expired or did not come from this site. Reload the page and try again."


class Form(wtforms.Form):
    """A form whose CSRF token is tied to the visitor's session cookie."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            return current_app.secret_key.encode()

        @property
        def csrf_context(self) -> object:
            return session

        @property
        def csrf_time_limit(self) -> timedelta:
            return timedelta(seconds=current_app.config["CSRF_TIME_LIMIT"])

    @classmethod
    async def from_request(cls, **kwargs: object) -> Self:
        """Build the form from the POSTed body, or empty for any other method."""
        formdata = await request.form if request.method == "POST" else None
        return cls(formdata, **kwargs)

    def validate_on_submit(self) -> bool:
        """Validate a submitted form, telling the visitor to resend it if its CSRF token failed."""
        if self.validate():
            return True
        if self.csrf_token.errors:
            self.form_errors.append(CSRFError.description)
        return False

    @property
    def status_code(self) -> int:
        """The status of a page showing this form: a missing, stale or foreign token is a 400."""
        return 400 if self.csrf_token.errors else 200


def _valid_username(form: wtforms.Form, field: wtforms.Field) -> None:
    if not USERNAME_PATTERN.fullmatch(field.data):
        raise ValidationError("Use only letters, digits, dots, dashes and underscores.")


def _acceptable_password(form: wtforms.Form, field: wtforms.Field) -> None:
    """The password policy: a minimum length, bcrypt's maximum, and not the username."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(field.data) < minimum:
        raise ValidationError(f"Use at least {minimum} characters.")
    if password_too_long(field.data):
        raise ValidationError(
            f"Use at most {MAX_PASSWORD_BYTES} bytes: {MAX_PASSWORD_BYTES} plain letters, fewer accented ones."
        )
    if field.data.casefold() == (form.account_name() or "").casefold():
        raise ValidationError("Your password must differ from your username.")


class SignInForm(Form):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me")


class SignUpForm(Form):
    username = StringField(
        "Username",
        filters=[lambda value: normalize_username(value) if value else value],
        validators=[DataRequired(), Length(max=USERNAME_MAX_LENGTH), _valid_username],
    )
    password = PasswordField("Password", validators=[DataRequired(), _acceptable_password])
    confirm = PasswordField(
        "Confirm password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )

    def account_name(self) -> str | None:
        return self.username.data


class ChangePasswordForm(Form):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), _acceptable_password])
    confirm = PasswordField(
        "Confirm new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )

    def __init__(self, *args: object, username: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._username = username

    def account_name(self) -> str | None:
        return self._username


class SignOutForm(Form):
    """Nothing but the CSRF token: signing out is a POST another site cannot forge."""


class RevokeSessionForm(Form):
    session_id = HiddenField(validators=[DataRequired(), Length(max=64)])
