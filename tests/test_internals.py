from quart import Quart
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body
from quart_auth import QuartAuth

from quartapp.web import internals


def samples() -> dict[type, object]:
    """An instance of each class whose internals quartapp uses: some names are set in __init__."""
    return {
        Body: Body(None, 10),
        ASGIHTTPConnection: ASGIHTTPConnection(Quart(__name__), {"type": "http"}),  # type: ignore[typeddict-item]
        QuartAuth: QuartAuth(),
    }


def test_every_private_name_quartapp_relies_on_is_still_there():
    assert internals.missing(samples()) == []


def test_a_name_that_disappeared_is_reported():
    internals.RELIED_ON[Body]["_gone_in_a_newer_release"] = "a check of the check"
    try:
        assert internals.missing(samples()) == ["quart.wrappers.request.Body._gone_in_a_newer_release"]
    finally:
        del internals.RELIED_ON[Body]["_gone_in_a_newer_release"]
