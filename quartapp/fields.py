from typing import Any

import wtforms
from email_validator import EmailNotValidError, validate_email
from markupsafe import escape, Markup
from wtforms import BooleanField, StringField
from wtforms.csrf.core import CSRFTokenField
from wtforms.widgets import core

from .i18n import _


def html_params(**params: Any) -> Markup:
    """WTForms' html_params (the same attributes, in the same order), made with f-strings.

    WTForms makes each attribute with Markup.format, whose Python-level formatter cost more
    than the rest of a sign-in page: this is the page every visitor, and every flood, asks for.
    """
    attributes = []
    for key, value in sorted(params.items()):
        if value is False:
            continue
        name = key.rstrip("_")  # class_ is class; data_x and aria_x are data-x and aria-x
        if name.startswith(("data_", "aria_")):
            name = name.replace("_", "-")
        attributes.append(name if value is True else f'{name}="{escape(value)}"')
    # Every value is escaped; the names are the keywords of the template's own call.
    return Markup(" ".join(attributes))  # noqa: S704


class TextInput(core.TextInput):
    html_params = staticmethod(html_params)


class PasswordInput(core.PasswordInput):
    html_params = staticmethod(html_params)


class EmailInput(core.EmailInput):
    html_params = staticmethod(html_params)


class HiddenInput(core.HiddenInput):
    html_params = staticmethod(html_params)


class CheckboxInput(core.CheckboxInput):
    html_params = staticmethod(html_params)


class Text(StringField):
    """A text field that is "" rather than None when nothing was sent."""

    widget: core.Input = TextInput()
    data: str
    errors: list[str]

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, default="", **kwargs)


class Password(Text):
    """WTForms' PasswordField: a Text field shown as a password input, never filled in."""

    widget = PasswordInput()


class Email(Text):
    """An email address field: validated, and normalised ("Ann@EXAMPLE.org" is "Ann@example.org")."""

    widget = EmailInput()

    def pre_validate(self, form: wtforms.form.BaseForm) -> None:
        if not self.data:
            return
        try:
            # No DNS lookup: a request must not wait for, or reveal, a resolver's answer.
            self.data = validate_email(self.data.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            # email_validator's precise reasons are English only: one message every language has.
            raise wtforms.validators.StopValidation(
                _("That is not an email address. Check it for typing errors: it looks like name@example.org.")
            ) from None


class Hidden(Text):
    """WTForms' HiddenField: a Text field in a hidden input."""

    widget = HiddenInput()


class Check(BooleanField):
    """WTForms' BooleanField (a checkbox)."""

    widget = CheckboxInput()


class TokenInput(HiddenInput):
    """A hidden input with no id: a page with several forms has several tokens, and ids are unique."""

    def __call__(self, field: wtforms.Field, **kwargs: Any) -> Markup:
        return super().__call__(field, **{**kwargs, "id": False})


class Token(CSRFTokenField):
    """WTForms' CSRF token field, in a hidden input."""

    widget = TokenInput()
