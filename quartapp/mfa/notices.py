from quart import current_app

from .. import mail
from ..db.models import User, utcnow

SUBJECTS = {
    "totp.enabled": "Two-factor sign-in was turned on",
    "totp.disabled": "Two-factor sign-in was turned off",
    "recovery_code.used": "A recovery code was used to sign in",
    "recovery_codes.renewed": "New recovery codes were made",
    "passkey.added": "A passkey was added to your account",
    "passkey.removed": "A passkey was removed from your account",
}


def notify(user: User, event: str, **context: object) -> None:
    """Tell the account's verified address of a change to how it signs in (after the response)."""
    if user.email and user.email_verified:
        context |= {"event": event, "user": user, "when": utcnow()}
        mail.send_later("second_factor", user.email, SUBJECTS[event], **context)
    else:
        current_app.logger.debug("no verified address to tell of %s", event)
