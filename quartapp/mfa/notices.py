from quart import current_app

from .. import mail
from ..db.models import User, utcnow
from ..i18n import _l

SUBJECTS = {
    "totp.enabled": _l("Two-factor sign-in was turned on"),
    "totp.disabled": _l("Two-factor sign-in was turned off"),
    "recovery_code.used": _l("A recovery code was used to sign in"),
    "recovery_codes.renewed": _l("New recovery codes were made"),
    "passkey.added": _l("A passkey was added to your account"),
    "passkey.removed": _l("A passkey was removed from your account"),
}


def notify(user: User, event: str, **context: object) -> None:
    """Tell the account's verified address of a change to how it signs in (after the response)."""
    if user.email and user.email_verified:
        context |= {"event": event, "when": utcnow()}
        mail.send_later("second_factor", user.email, SUBJECTS[event], user=user, **context)
    else:
        current_app.logger.debug("no verified address to tell of %s", event)
