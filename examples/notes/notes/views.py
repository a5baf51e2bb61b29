from typing import Any

from quart import Blueprint, flash, Quart, redirect, render_template, url_for
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from quartapp import Form, get_session, login_required, recent_signin_required, signed_in_user, User
from quartapp.i18n import _, _l

from .models import Note, NOTE_MAX_LENGTH

bp = Blueprint("notes", __name__, template_folder="templates")


class NoteForm(Form):
    text = TextAreaField(_l("New note"), validators=[DataRequired(), Length(max=NOTE_MAX_LENGTH)])


class ClearForm(Form):
    """Only the CSRF token."""


async def export_notes(sender: Quart, *, db: AsyncSession, user: User) -> dict[str, Any]:
    """The account export's "notes" section: every note of the user's, oldest first."""
    notes = await db.scalars(select(Note).where(Note.user_id == user.id).order_by(Note.id))
    return {
        "notes": [{"text": note.text, "created_at": note.created_at.isoformat(timespec="seconds")} for note in notes]
    }


async def notes_page(form: NoteForm, status: int = 200) -> tuple[str, int]:
    user = await signed_in_user()
    notes = await get_session().scalars(select(Note).where(Note.user_id == user.user_id).order_by(Note.id.desc()))
    return await render_template("notes/index.html", notes=list(notes), form=form, clear_form=ClearForm()), status


@bp.get("/notes")
@login_required
async def index() -> tuple[str, int]:
    """The signed-in user's notes, newest first, and a form to add one."""
    return await notes_page(NoteForm())


@bp.post("/notes")
@login_required
async def add() -> Response | tuple[str, int]:
    form = await NoteForm.from_request()
    if not form.validate_on_submit():
        return await notes_page(form, form.status_code)
    db = get_session()
    db.add(Note(user_id=(await signed_in_user()).user_id, text=form.text.data))
    await db.commit()
    return redirect(url_for("notes.index"), 303)


@bp.post("/notes/clear")
@recent_signin_required  # deleting everything at once wants the password, not just a cookie
async def clear() -> Response | tuple[str, int]:
    form = await ClearForm.from_request()
    if not form.validate_on_submit():
        return await notes_page(NoteForm(), form.status_code)
    db = get_session()
    await db.execute(delete(Note).where(Note.user_id == (await signed_in_user()).user_id))
    await db.commit()
    await flash(_("All your notes were deleted."))
    return redirect(url_for("notes.index"), 303)
