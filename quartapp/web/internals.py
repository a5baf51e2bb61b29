"""The private parts of Quart and Quart-Auth that quartapp relies on, named in one place.

Each is used by subclassing, where no public hook does the job. pyproject.toml bounds both
libraries from above at the newest releases tested, and tests/test_internals.py fails loudly
when a newer release drops one of these names, instead of quartapp quietly changing behaviour.
"""

from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body
from quart_auth import QuartAuth

# For each class: the private names quartapp uses, and what for.
RELIED_ON: dict[type, dict[str, str]] = {
    Body: {
        "_max_content_length": "connection.LimitedBody caps a chunked body as it arrives",
        "_must_raise": "connection.LimitedBody makes the view raise 413 once the cap is passed",
    },
    ASGIHTTPConnection: {
        "_create_request_from_scope": "connection.RunToEnd keeps the request's body to watch it arrive",
        "_send_response": "connection.RunToEnd lets an early answer wait for its body, or close the connection",
        "_disconnected": "connection.RunToEnd drops the answer to a client that hung up, not the request",
    },
    QuartAuth: {
        "_template_context": "cookies.Auth gives templates current_user without a thread per page",
    },
}


def missing(samples: dict[type, object]) -> list[str]:
    """The relied-on names that the installed releases lack, on each class or its sample instance."""
    return [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls, names in RELIED_ON.items()
        for name in names
        if not hasattr(cls, name) and not hasattr(samples[cls], name)
    ]
