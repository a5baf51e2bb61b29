"""The language picker in every page's footer: the browser's choice, and a signed-in account's."""

from quart import Blueprint, current_app, request
from quart.helpers import redirect
from sqlalchemy import update
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from .current_user import current_user
from .db.engine import get_session
from .db.models import User
from .forms import ButtonForm
from .i18n import _l, keep_language, offered
from .login import safe_next

bp = Blueprint("language", __name__)


class UnknownLanguage(BadRequest):
    description = _l("That language is not offered here. Choose one of the list at the foot of the page.")


@bp.post("/language")
async def choose() -> Response:
    """Show this browser the pages in the language chosen, and mail the signed-in account in it."""
    form = await request.form
    language = form.get("language", "")
    if language not in offered(current_app.config):
        raise UnknownLanguage()
    keep_language(language)
    user = await current_user.user
    # A signed-in account's mails follow its pick, but only from a form of this site: another
    # site's forged post changes nothing but this browser's pages.
    if user is not None and (await ButtonForm.from_request()).validate_on_submit():
        db = get_session()
        await db.execute(update(User).where(User.id == user.user_id).values(language=language))
        await db.commit()
    return redirect(safe_next(form.get("next")), 303)
