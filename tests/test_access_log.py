"""quartapp-serve's access log: the fields an operator needs, no token of a mailed link, no environment."""

import tomllib
from typing import Any

import pytest
from hypercorn.config import Config

from quartapp.server.access_log import Atoms, for_app, masked, secret_pattern

from .conftest import make_app
from .serving import ROOT

FORMAT = tomllib.loads((ROOT / "hypercorn.toml").read_text())["access_log_format"]
PATTERN = secret_pattern(["/", "/reset/<secret:token>", "/verify/<secret:token>", "/passkeys/<passkey_id>/rename"])


def scope(path: str, query: bytes = b"", **headers: str) -> Any:
    """An HTTP scope as hypercorn passes it to the access log."""
    encoded = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
            "query_string": query, "headers": encoded, "client": ("203.0.113.9", 51234)}  # fmt: skip


def line(request: Any, status: int = 200, size: str = "512", seconds: float = 0.0021) -> str:
    response: Any = {"status": status, "headers": [(b"content-length", size.encode())]}
    return str(FORMAT % Atoms(request, response, seconds, PATTERN))


def test_a_line_has_client_request_status_size_duration_and_user_agent():
    request = scope("/sessions", b"page=2", user_agent="Mozilla/5.0 (X11)", cookie="quartapp_auth=abc")
    assert line(request) == '203.0.113.9:51234 "GET /sessions?page=2 1.1" 200 512 0.002100 "Mozilla/5.0 (X11)"'


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/reset/Zk9aVx3-Q_long-token", "/reset/<secret>"),
        ("/verify/3q2-abc", "/verify/<secret>"),
        ("/passkeys/17/rename", "/passkeys/17/rename"),
        ("/resets/abc", "/resets/abc"),
        ("/reset/abc/more", "/reset/abc/more"),  # no such route: nothing there is a token
        ("/auth/reset/tok", "/auth/reset/<secret>"),  # under a root path
    ],
)
def test_the_token_of_a_mailed_link_is_masked(path, logged):
    assert line(scope(path)).split('"')[1] == f"GET {logged} 1.1"


def test_a_referer_naming_a_link_is_masked_too():
    assert masked("http://localhost:8000/verify/3q2-abc?x=1", PATTERN) == "http://localhost:8000/verify/<secret>?x=1"
    atoms = Atoms(scope("/", referer="https://example.org/reset/tok"), None, 0.0, PATTERN)
    assert atoms["f"] == "https://example.org/reset/<secret>"


def test_no_environment_variable_reaches_the_log(monkeypatch):
    monkeypatch.setenv("QUARTAPP_SECRET_KEY", "do not log me")
    assert "%({quartapp_secret_key}e)s" % Atoms(scope("/"), None, 0.0, PATTERN) == "-"  # noqa: UP031


def test_only_the_fields_the_format_names_are_computed():
    response: Any = {"status": 204, "headers": []}
    atoms = Atoms(scope("/", user_agent="curl"), response, 0.5, PATTERN)
    assert "%(s)s %(a)s" % atoms == "204 curl"  # noqa: UP031
    assert set(atoms) == {"s", "a", "{user-agent}i"}


def test_the_apps_own_token_routes_are_the_masked_ones(tmp_path):
    access_log = for_app(make_app(tmp_path))
    assert access_log.secrets is not None
    reset, verify = masked("/reset/abc", access_log.secrets), masked("/verify/abc", access_log.secrets)
    assert (reset, verify) == ("/reset/<secret>", "/verify/<secret>")
    assert masked("/signin", access_log.secrets) == "/signin"


async def test_the_logger_writes_the_line(tmp_path, capsys):
    config = Config.from_mapping(accesslog="-", access_log_format=FORMAT)
    config.logger_class = for_app(make_app(tmp_path))
    response: Any = {"status": 303, "headers": []}
    await config.log.access(scope("/reset/tok", user_agent="curl"), response, 0.001)
    written = capsys.readouterr().out
    assert written.endswith(' [INFO] 203.0.113.9:51234 "GET /reset/<secret> 1.1" 303 - 0.001000 "curl"\n')
