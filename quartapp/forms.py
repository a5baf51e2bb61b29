import functools
from datetime import timedelta
from typing import Any, Self

import wtforms
from markupsafe import Markup
from quart import current_app, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from wtforms.csrf.core import CSRFTokenField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from .db.models import normalize_username, USERNAME_MAX_LENGTH, USERNAME_PATTERN
from .fields import Check, Email, Hidden, Password, Text, Token
from .passwords import MAX_PASSWORD_BYTES, password_too_long


class CSRFError(BadRequest):
    description = "This form has expired or did not come from this site. Reload the page and try again."


@functools.cache
def _seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)  # read twice per token, the same every time


class SessionTokens(SessionCSRF):
    """WTForms' session CSRF, its token in quartapp's hidden input."""

    field_class = Token


class Form(wtforms.Form):
    """A form whose CSRF token is tied to the visitor's session cookie."""

    csrf_token: CSRFTokenField

    class Meta:
        csrf = True
        csrf_class = SessionTokens

        @property
        def csrf_secret(self) -> bytes:
            return str(current_app.config["SECRET_KEY"]).encode()

        @property
        def csrf_context(self) -> object:
            return session

        @property
        def csrf_time_limit(self) -> timedelta:
            return _seconds(current_app.config["CSRF_TIME_LIMIT"])

    @classmethod
    async def from_request(cls, **kwargs: Any) -> Self:
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

    def account_name(self) -> str | None:
        """The username a password on this form must differ from, if any."""
        return None


def _valid_username(form: wtforms.Form, field: wtforms.Field) -> None:
    if not USERNAME_PATTERN.fullmatch(field.data):
        raise ValidationError("Use only letters, digits, dots, dashes and underscores.")


def _acceptable_password(form: Form, field: wtforms.Field) -> None:
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
    username = Text("Username", validators=[DataRequired()])
    password = Password("Password", validators=[DataRequired()])
    remember = Check("Remember me")


class SignUpForm(Form):
    username = Text(
        "Username",
        filters=[lambda value: normalize_username(value) if value else value],
        validators=[DataRequired(), Length(max=USERNAME_MAX_LENGTH), _valid_username],
    )
    password = Password("Password", validators=[DataRequired(), _acceptable_password])
    confirm = Password(
        "Confirm password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )
    email = Email("Email address (optional)", validators=[Optional()])

    def account_name(self) -> str | None:
        return self.username.data


class NewPasswordForm(Form):
    """A new password and its confirmation, under the sign-up rules for the named account."""

    password = Password("New password", validators=[DataRequired(), _acceptable_password])
    confirm = Password(
        "Confirm new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")]
    )

    def __init__(self, *args: Any, username: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._username = username

    def account_name(self) -> str | None:
        return self._username


class ButtonForm(Form):
    """Nothing but the CSRF token: a button (sign out, revoke, verify, ...) another site cannot press."""


async def require_csrf() -> None:
    """Raise CSRFError unless this POST carries a valid CSRF token: a button's whole check."""
    if not (await ButtonForm.from_request()).validate_on_submit():
        raise CSRFError()


# WTForms' own token maker, under the forms' Meta, for a page that needs a token but no form.
_tokens = SessionTokens()
_tokens.form_meta = Form.Meta()  # type: ignore[assignment]  # the settings SessionCSRF reads, not a DefaultMeta


def new_csrf_secret() -> None:
    """Replace the session's CSRF secret: tokens issued before stop working."""
    session.pop("csrf", None)
    _tokens.generate_csrf_token(None)  # type: ignore[arg-type]  # makes the secret; the field is never read


def csrf_header_valid(header: str = "X-CSRF-Token") -> bool:
    """Whether this request's header holds a valid CSRF token: for JSON posts, which carry no form."""
    return ButtonForm(MultiDict({"csrf_token": request.headers.get(header, "")})).validate()


_CSRF_INPUT = Markup('<input id="csrf_token" name="csrf_token" type="hidden" value="%s">')


def csrf_input() -> Markup:
    """The hidden CSRF input of a form with no other field (the sign-out button on every page).

    What ButtonForm().csrf_token renders, without building a form on every page.
    """
    token = _tokens.generate_csrf_token(None)  # type: ignore[arg-type]  # SessionCSRF never reads the field
    return _CSRF_INPUT % token  # % escapes the token, at a third of Markup.format's cost


class RevokeSessionForm(Form):
    # A session id is a SHA-256 in hex; anything else (PostgreSQL refuses a NUL) names none.
    session_id = Hidden(validators=[DataRequired(), Regexp("^[0-9a-f]{64}$")])
