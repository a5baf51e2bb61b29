"""/passkeys: list, add, rename and remove passkeys (the sign-in ceremonies are in passkey_signin.py)."""

from quart import abort, Blueprint, current_app, flash, redirect, render_template, url_for
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from ...audit import audit
from ...db.engine import get_session, rowcount
from ...db.models import User
from ...fields import Text
from ...forms import ButtonForm, CSRFError, Form, require_csrf
from ...i18n import _, _l
from ...reauth import recent_signin_required
from .. import challenges, recovery_codes, secretbox, trust
from ..factors import account, drop_codes_if_unneeded, needs_second_factor
from ..models import Passkey
from ..notices import notify
from . import ceremonies, options
from .ceremonies import PasskeyError
from .http import Json, json_body, json_view, site

bp = Blueprint("passkeys", __name__)

CODES = "passkey.codes"  # the recovery codes made with a first passkey, held until its page shows them
BAD_NAME = _l("Give the passkey a name of 1 to 64 characters.")


class RenameForm(Form):
    name = Text(_l("New name"))


@bp.get("/passkeys")
@recent_signin_required
async def manage() -> str:
    keys = await options.of_user(get_session(), (await account()).id)
    return await render_template("mfa/passkeys.html", keys=keys, button=ButtonForm(), rename_form=RenameForm())


async def _own(user: User, passkey_id: str) -> Passkey:
    """The user's passkey of that id, or 404: the id in the path names nobody else's."""
    passkey = None
    if ceremonies.CREDENTIAL_ID.fullmatch(passkey_id):
        statement = select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
        passkey = await get_session().scalar(statement)
    return passkey or abort(404)


@bp.post("/passkeys/<passkey_id>/rename")
@recent_signin_required
async def rename(passkey_id: str) -> Response:
    form, user = await RenameForm.from_request(), await account()
    passkey = await _own(user, passkey_id)
    if not form.validate_on_submit():
        raise CSRFError()
    if (name := ceremonies.clean_name(form.name.data)) is None:
        await flash(str(BAD_NAME))
    else:
        passkey.name = name
        await get_session().commit()
        await flash(_("The passkey is now called “%(name)s”.", name=name))
    return redirect(url_for("passkeys.manage"), 303)


@bp.post("/passkeys/<passkey_id>/remove")
@recent_signin_required
async def remove(passkey_id: str) -> Response:
    await require_csrf()
    user, db = await account(), get_session()
    name = (await _own(user, passkey_id)).name
    if await rowcount(db, delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)):
        await drop_codes_if_unneeded(db, user.id)
        await trust.revoke_all(db, user.id, why="passkey.removed")  # the passkey may be gone with its device
        await db.commit()
        audit("passkey.removed", username_key=user.username_key, name=name)
        notify(user, "passkey.removed", name=name)
    await flash(_("The passkey “%(name)s” was removed.", name=name))
    return redirect(url_for("passkeys.manage"), 303)


@bp.post("/passkeys/register/options")
@recent_signin_required
@json_view
async def register_options() -> Json:
    if ceremonies.clean_name((await json_body()).get("name")) is None:  # refused before the authenticator makes a key
        raise PasskeyError(BAD_NAME)
    return await options.registration_options(get_session(), await account(), site())


@bp.post("/passkeys/register/verify")
@recent_signin_required
@json_view
async def register_verify() -> Json:
    body, user, db = await json_body(), await account(), get_session()
    if (name := ceremonies.clean_name(body.get("name"))) is None:
        raise PasskeyError(BAD_NAME)
    first = not await needs_second_factor(db, user)
    await ceremonies.register(db, user, site(), body.get("credential"), name)
    target = url_for("passkeys.manage")
    if first:  # the first second factor: recovery codes too, for when the passkey is lost
        codes = "\n".join(await recovery_codes.renew(db, user.id))
        sealed = secretbox.seal(current_app.config, codes, f"{CODES}:{user.id}")  # sealed: they sign in
        await challenges.issue(db, CODES, 10 * 60, user_id=user.id, data=sealed)
        target = url_for("passkeys.new_codes")
    else:
        await flash(_("The passkey “%(name)s” was added.", name=name))
    await db.commit()
    audit("passkey.added", username_key=user.username_key, name=name)
    notify(user, "passkey.added", name=name)
    return {"redirect": target}


@bp.get("/passkeys/recovery-codes")
@recent_signin_required
async def new_codes() -> Response | str:
    """The recovery codes made with the first passkey, shown once."""
    user, db = await account(), get_session()
    held = await challenges.take(db, CODES)
    await db.commit()
    codes = secretbox.unseal(current_app.config, held.data, f"{CODES}:{user.id}") if held else None
    if codes is None:
        return redirect(url_for("passkeys.manage"), 303)
    return await render_template("mfa/recovery_codes.html", codes=codes[0].split("\n"), first=True)
