import functools
from datetime import timedelta
from typing import Any, Self

import wtforms
from markupsafe import Markup
from quart import current_app, g, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from wtforms.csrf.core import CSRFTokenField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from .db.models import normalize_username, USERNAME_MAX_LENGTH
from .fields import Check, Email, Hidden, Password, Text, Token
from .i18n import _l, translations
from .validators import acceptable_password, valid_username


class CSRFError(BadRequest):
    description = _l("This form has expired or did not come from this site. Reload the page and try again.")


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

        def get_translations(self, form: wtforms.Form) -> Any:
            # WTForms' own messages ("This field is required.") in the page's language too.
            return translations()

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

    def mark_first_error(self) -> list[wtforms.Field]:
        """The fields in error, in order, the first marked to take the focus (and no other field).

        Called by the template when the page is drawn, after the view has added its own errors.
        """
        invalid = [field for field in self if field.errors and not isinstance(field, CSRFTokenField)]
        if invalid:
            for field in self:
                field.flags.focus = field is invalid[0]
        return invalid


class SignInForm(Form):
    username = Text(_l("Username"), validators=[DataRequired()])
    password = Password(_l("Password"), validators=[DataRequired()])
    remember = Check(_l("Remember me"))


class SignUpForm(Form):
    username = Text(
        _l("Username"),
        filters=[lambda value: normalize_username(value) if value else value],
        validators=[DataRequired(), Length(max=USERNAME_MAX_LENGTH), valid_username],
    )
    password = Password(_l("Password"), validators=[DataRequired(), acceptable_password])
    confirm = Password(
        _l("Confirm password"), validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))]
    )
    email = Email(_l("Email address (optional)"), validators=[Optional()])

    def account_name(self) -> str | None:
        return self.username.data


class NewPasswordForm(Form):
    """A new password and its confirmation, under the sign-up rules for the named account."""

    password = Password(_l("New password"), validators=[DataRequired(), acceptable_password])
    confirm = Password(
        _l("Confirm new password"), validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))]
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
    g.pop("quartapp_csrf_input", None)
    _tokens.generate_csrf_token(None)  # type: ignore[arg-type]  # makes the secret; the field is never read


def csrf_header_valid(header: str = "X-CSRF-Token") -> bool:
    """Whether this request's header holds a valid CSRF token: for JSON posts, which carry no form."""
    return ButtonForm(MultiDict({"csrf_token": request.headers.get(header, "")})).validate()


_CSRF_INPUT = Markup('<input name="csrf_token" type="hidden" value="%s">')


def csrf_input() -> Markup:
    """The hidden CSRF input of a form with no other field (the sign-out button on every page).

    What ButtonForm().csrf_token renders, without building a form on every page; made once per
    page (the sign-out button and the language picker share it), its HMAC being the cost.
    """
    if (made := g.get("quartapp_csrf_input")) is not None:
        return made  # type: ignore[no-any-return]  # g holds what this function put there
    token = _tokens.generate_csrf_token(None)  # type: ignore[arg-type]  # SessionCSRF never reads the field
    g.quartapp_csrf_input = made = _CSRF_INPUT % token  # % escapes the token, at a third of Markup.format's cost
    return made


class RevokeSessionForm(Form):
    # A session id is a SHA-256 in hex; anything else (PostgreSQL refuses a NUL) names none.
    session_id = Hidden(validators=[DataRequired(), Regexp("^[0-9a-f]{64}$")])
