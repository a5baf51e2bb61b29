"""The sign-up rules as WTForms validators: what a username may contain, what a new password must be."""

from typing import cast, Protocol

import wtforms
from quart import current_app
from wtforms.validators import ValidationError

from .db.models import USERNAME_PATTERN
from .i18n import _, ngettext
from .passwords import MAX_PASSWORD_BYTES, password_too_long


class NamedForm(Protocol):
    def account_name(self) -> str | None:
        """The username a password on this form must differ from, if any."""


def valid_username(form: wtforms.Form, field: wtforms.Field) -> None:
    """A username of letters, digits, dots, dashes and underscores."""
    # Which characters are wrong, not the rule again: the hint under the field already says it.
    wrong = sorted({character for character in field.data if not USERNAME_PATTERN.fullmatch(character)})
    if wrong:
        shown = ", ".join(_describe_character(character) for character in wrong)
        raise ValidationError(
            ngettext(
                "A username cannot contain %(characters)s.",
                "A username cannot contain %(characters)s.",
                len(wrong),
                characters=shown,
            )
        )


def _describe_character(character: str) -> str:
    if character == " ":
        return _("a space")
    if not character.isprintable():
        return f"U+{ord(character):04X}"  # a control character, named rather than sent back raw
    return f"“{character}”"


def acceptable_password(form: wtforms.Form, field: wtforms.Field) -> None:
    """The password policy: a minimum length, bcrypt's maximum, and not the username."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(field.data) < minimum:
        raise ValidationError(ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.", minimum))
    if password_too_long(field.data):
        raise ValidationError(
            _("Use at most %(bytes)d bytes: %(bytes)d plain letters, fewer accented ones.", bytes=MAX_PASSWORD_BYTES)
        )
    if field.data.casefold() == (cast(NamedForm, form).account_name() or "").casefold():
        raise ValidationError(_("Your password must differ from your username."))
