"""The views that check or set a password are marked @hashes_password, and the door guards exactly those."""

import asyncio

import pytest
from quart import Blueprint

from quartapp import create_app
from quartapp.passwords import hash_password, hashes_password
from quartapp.testing.databases import database_url

from .conftest import running_app

# Every POST that runs bcrypt, and the call that does: a change here shows up in review.
HASHING_FORMS = [
    "/2fa/totp/disable",  # turn_off.disable: authenticate() with the password and a recovery code
    "/password",  # account.password_submit: hash_password()
    "/reauthenticate",  # auth.reauthenticate_submit: authenticate()
    "/reset/set-password",  # recovery.set_password_submit: hash_password()
    "/signin",  # auth.signin_submit: authenticate(): admit(), verify_password(), the deferred re-hash
    "/signup",  # auth.signup_submit: hash_password()
]


async def test_the_door_guards_exactly_the_views_that_hash(app):
    assert sorted(app.hashing_forms) == HASHING_FORMS


async def test_every_hashing_form_is_refused_at_the_door_before_its_body_is_read(tmp_path):
    async with running_app(tmp_path, HASH_PATIENCE=0.01) as app:
        hasher = app.extensions["hasher"]
        hasher.seconds_per_hash, hasher.pending = 10.0, hasher.threads  # nothing more may queue
        client = app.test_client()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "12"}

        async def post_headers_only(path: str):
            # The body never comes: a view that read it would wait for it until BODY_TIMEOUT.
            async with client.request(path, method="POST", headers=headers) as connection:
                await connection.receive()
            return await connection.as_response()

        async with asyncio.timeout(5):
            refusals = await asyncio.gather(*(post_headers_only(path) for path in HASHING_FORMS))
        for path, refusal in zip(HASHING_FORMS, refusals, strict=True):
            assert refusal.status_code == 503, path
            assert int(refusal.headers["Retry-After"]) >= 1, path
            assert refusal.headers["Connection"] == "close", path  # the body never came
        hasher.pending = 0


async def test_a_view_that_hashes_unmarked_gets_a_runtime_error(tmp_path):
    unmarked = Blueprint("unmarked", __name__)
    unmarked.post("/hash-it")(_hash_or_say_why)
    async with _app(tmp_path, unmarked).test_app() as served:
        response = await served.test_client().post("/hash-it")
    message = await response.get_data(as_text=True)
    assert message == (
        "POST /hash-it (endpoint unmarked._hash_or_say_why) checks or sets a password, "
        "which only a POST to a view marked @hashes_password may do"
    )


async def test_a_marked_view_hashing_on_get_gets_a_runtime_error(tmp_path):
    marked = Blueprint("marked", __name__)
    marked.route("/form", methods=["GET", "POST"])(hashes_password(_hash_or_say_why))
    app = _app(tmp_path, marked)
    async with app.test_app():
        assert app.hashing_forms == {*HASHING_FORMS, "/form"}
        assert await (await app.test_client().post("/form")).get_data(as_text=True) == "hashed"
        refused = await (await app.test_client().get("/form")).get_data(as_text=True)
    assert refused.startswith("GET /form (endpoint marked._hash_or_say_why) checks or sets a password")


@pytest.mark.parametrize(("rule", "methods"), [("/notes/<int:note_id>/password", ["POST"]), ("/lookup", ["GET"])])
async def test_a_marked_view_the_door_cannot_tell_by_its_path_stops_the_start(tmp_path, rule, methods):
    blueprint = Blueprint("odd", __name__)
    blueprint.route(rule, methods=methods)(hashes_password(_hash_or_say_why))
    with pytest.raises(RuntimeError, match=f"odd._hash_or_say_why is marked @hashes_password at {rule}, which"):
        await _app(tmp_path, blueprint).startup()


async def _hash_or_say_why(**_: object) -> str:
    try:
        await hash_password("correct horse battery")
    except RuntimeError as error:
        return str(error)
    return "hashed"


def _app(tmp_path, blueprint: Blueprint):
    """The app as conftest's make_app builds it, with a blueprint of the test's own."""
    settings = {"TESTING": True, "SECRET_KEY": "test secret", "DATABASE_URL": database_url(tmp_path),
                "BCRYPT_ROUNDS": 4, "HASH_WORKERS": 2}  # fmt: skip
    return create_app(settings, instance_path=str(tmp_path / "instance"), blueprints=[blueprint])
