"""TOTP secrets are sealed with AES-GCM under a key of their own, bound to their user."""

import pytest
from sqlalchemy import update

from quartapp.db.models import User
from quartapp.mfa import secretbox

from .conftest import AuthActions, PASSWORD, rows, running_app
from .totp_actions import code_at, password_step, second_step, turn_on_totp

CONFIG = {"SECRET_KEY": "cookie key"}


def test_a_sealed_secret_opens_only_for_its_context_and_key():
    sealed = secretbox.seal(CONFIG, "JBSWY3DPEHPK3PXP", "totp:1")
    assert sealed.startswith("v1.")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert secretbox.seal(CONFIG, "JBSWY3DPEHPK3PXP", "totp:1") != sealed  # a fresh nonce each time
    assert secretbox.unseal(CONFIG, sealed, "totp:1") == ("JBSWY3DPEHPK3PXP", False)
    assert secretbox.unseal(CONFIG, sealed, "totp:2") is None  # another user's row
    assert secretbox.unseal({"SECRET_KEY": "another key"}, sealed, "totp:1") is None
    assert secretbox.unseal(CONFIG | {"TOTP_KEY": "its own key"}, sealed, "totp:1") is None


@pytest.mark.parametrize("sealed", ["", "v1.", "v1.!!!", "v2.AAAA", "v1." + "A" * 40, "plain text"])
def test_anything_else_does_not_open(sealed):
    assert secretbox.unseal(CONFIG, sealed, "totp:1") is None


def test_old_keys_still_open_and_say_so():
    sealed = secretbox.seal(CONFIG, "secret", "totp:1")
    rotated = {"SECRET_KEY": "new cookie key", "SECRET_KEY_FALLBACKS": ["cookie key"]}
    assert secretbox.unseal(rotated, sealed, "totp:1") == ("secret", True)
    own = secretbox.seal({"TOTP_KEY": "k1", **CONFIG}, "secret", "totp:1")
    rotated_own = {"TOTP_KEY": "k2", "TOTP_KEY_FALLBACKS": ["k1"], **CONFIG}
    assert secretbox.unseal(rotated_own, own, "totp:1") == ("secret", True)


async def test_after_a_key_rotation_codes_still_work_and_the_secret_is_sealed_anew(tmp_path, signed_in):
    async with running_app(tmp_path) as app:
        alice = AuthActions(app.test_client())
        await signed_in(alice.client, "alice", password=PASSWORD)
        secret, _ = await turn_on_totp(alice)
        [before] = await rows(app, User)
    async with running_app(tmp_path, SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=["test secret"]) as app:
        alice = AuthActions(app.test_client())
        await password_step(alice)
        assert (await second_step(alice, code_at(secret, 1))).status_code == 303
        [after] = await rows(app, User)
        assert after.totp_secret != before.totp_secret
        assert secretbox.unseal({"SECRET_KEY": "rotated"}, after.totp_secret, f"totp:{after.id}") == (secret, False)


async def test_a_secret_copied_into_another_account_does_not_open(tmp_path, signed_in, caplog):
    async with running_app(tmp_path) as app:
        alice, mallory = AuthActions(app.test_client()), AuthActions(app.test_client())
        await signed_in(alice.client, "alice", password=PASSWORD)
        await signed_in(mallory.client, "mallory", password=PASSWORD)
        secret, _ = await turn_on_totp(alice)
        [alice_row] = [row for row in await rows(app, User) if row.username == "alice"]
        async with app.app_context():
            from quartapp.db.engine import get_session

            db = get_session()
            await db.execute(update(User).where(User.username == "mallory").values(totp_secret=alice_row.totp_secret))
            await db.commit()
        await password_step(mallory, "mallory")
        assert (await second_step(mallory, code_at(secret, 1))).status_code == 200
        assert "does not open with any configured key" in caplog.text
