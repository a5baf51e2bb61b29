"""The language picker in every page's footer: the browser's choice, and a signed-in account's."""

from markupsafe import escape, Markup
from quart import Blueprint, current_app, request, url_for
from quart.helpers import redirect
from sqlalchemy import update
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from .current_user import current_user
from .db.engine import get_session
from .db.models import User
from .forms import ButtonForm, csrf_input
from .i18n import _, _l, current_language, keep_language, offered
from .i18n.fragments import fragment
from .login import safe_next

bp = Blueprint("language", __name__)


_END = Markup("</form>")


@bp.app_template_global()
def language_picker(signed_in: bool) -> Markup:
    """The footer's picker: a button per language, back to this page; nothing if one is offered.

    Buttons, not links: choosing is a POST, which may change the account's mail language. Made in
    Python, with the buttons of each language made once (i18n/setup.py): every page shows it.
    """
    buttons: dict[str, Markup] = current_app.extensions["language_buttons"]
    if len(buttons) < 2:
        return Markup("")
    here = request.full_path if request.query_string else request.path
    # The form up to its buttons is kept per language and page.
    start = fragment("picker", here, lambda: _picker_start(here))
    return start + (csrf_input() if signed_in else "") + buttons[current_language()] + _END


def _picker_start(here: str) -> Markup:
    return Markup(  # noqa: S704  # every value escaped
        f'<form class="languages" method="post" action="{escape(url_for("language.choose"))}" '
        f'aria-label="{escape(_("Language"))}"><input type="hidden" name="next" value="{escape(here)}">'
    )


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
