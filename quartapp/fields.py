from typing import Any

import wtforms
from email_validator import EmailNotValidError, validate_email
from wtforms import StringField
from wtforms.widgets import EmailInput, HiddenInput, PasswordInput


class Text(StringField):
    """A text field that is "" rather than None when nothing was sent."""

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
        except EmailNotValidError as error:
            raise wtforms.validators.StopValidation(str(error)) from None


class Hidden(Text):
    """WTForms' HiddenField: a Text field in a hidden input."""

    widget = HiddenInput()
