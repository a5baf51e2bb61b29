"""Stopping the server cuts no request: every sign-in in flight at every worker is answered, then all exit 0.

However the stop arrives: SIGTERM to the top process (docker stop, Kubernetes), SIGTERM to the
whole process group (systemd's default KillMode), SIGINT to the group (Ctrl-C in a terminal).
"""

import os
import signal
import threading
import time

import pytest

from quartapp.testing.databases import execute, run_async
from quartapp.testing.helpers import csrf_token

from .conftest import PASSWORD
from .serving import app_env, migrate, serve, Server
from .test_workers import ACCESS_FORMAT, Visitor, worker_of

# At cost 12 a hash takes about 0.3 s here: sign-ups queue at each worker's bcrypt thread,
# so at the signal some are hashing and some wait their turn at every worker.
SIGN_UPS = 10
STOPS = {
    "SIGTERM to the top process": (signal.SIGTERM, False),
    "SIGTERM to the process group": (signal.SIGTERM, True),
    "SIGINT to the process group": (signal.SIGINT, True),
}


def send_stop(server: Server, signum: int, group: bool) -> None:
    if group:
        os.killpg(server.process.pid, signum)
    else:
        server.process.send_signal(signum)


@pytest.mark.parametrize("stop", STOPS)
def test_a_stop_lets_the_sign_ups_in_flight_at_every_worker_finish(tmp_path, database, stop):
    signum, group = STOPS[stop]
    # HASH_MAX_WAIT: every sign-up is admitted to the queue, none refused for overload.
    env = app_env(DATABASE_URL=database, SECRET_KEY="s" * 32, BCRYPT_ROUNDS="12", HASH_MAX_WAIT="60")
    migrate(env)
    access_log = tmp_path / "access.log"
    options = ["--workers", "2", "--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT]
    with serve(env, tmp_path, options) as server:
        forms = []
        for number in range(SIGN_UPS):
            visitor = Visitor(server.url)
            token = csrf_token(visitor.request("GET", "/signup")[1])
            forms.append((visitor, {"username": f"user{number}", "password": PASSWORD, "confirm": PASSWORD,
                                    "csrf_token": token}))  # fmt: skip
        answers: list[tuple[int, str, str] | BaseException] = []
        sent = threading.Barrier(SIGN_UPS + 1)

        def sign_up(visitor: Visitor, form: dict[str, str]) -> None:
            try:
                answers.append(visitor.request("POST", "/signup", form, sent=sent))
            except BaseException as error:  # a cut request: reset, refused or never answered
                answers.append(error)

        threads = [threading.Thread(target=sign_up, args=pair) for pair in forms]
        for thread in threads:
            thread.start()
        sent.wait(10)  # every request is on the wire...
        time.sleep(0.3)  # ...and accepted: the workers' loops are idle while bcrypt works
        send_stop(server, signum, group)
        for thread in threads:
            thread.join(30)
        status = server.process.wait(30)

        assert [a if isinstance(a, BaseException) else a[0] for a in answers] == [303] * SIGN_UPS
        assert status == 0
        log = server.log.read_text()
        assert log.count("database connections closed") == 2  # at both workers
        tags = [answer[2] for answer in answers if not isinstance(answer, BaseException)]
        assert len({worker_of(access_log, tag) for tag in tags}) == 2  # in flight at both workers
    rows = run_async(execute(database, "SELECT username FROM users ORDER BY username"))
    assert [row[0] for row in rows] == sorted(f"user{number}" for number in range(SIGN_UPS))


def test_nothing_new_is_accepted_once_stopping(tmp_path, database):
    # One slow sign-up (about a second at cost 14) keeps the server stopping while new connections knock.
    env = app_env(DATABASE_URL=database, SECRET_KEY="s" * 32, BCRYPT_ROUNDS="14")
    migrate(env)
    with serve(env, tmp_path, ["--workers", "2"]) as server:
        visitor = Visitor(server.url)
        token = csrf_token(visitor.request("GET", "/signup")[1])
        form = {"username": "late", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
        outcome: dict[str, int] = {}
        sent = threading.Barrier(2)
        signup = threading.Thread(target=lambda: outcome.update(status=visitor.request("POST", "/signup", form,
                                                                                        sent=sent)[0]))  # fmt: skip
        signup.start()
        sent.wait(10)
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        for _ in range(8):  # whichever worker's socket a new connection would hash to
            with pytest.raises(ConnectionError):
                Visitor(server.url, timeout=2).request("GET", "/healthz")
        signup.join(30)
        assert outcome == {"status": 303}
        assert server.process.wait(30) == 0
