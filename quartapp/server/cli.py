"""`quartapp-serve`: the command line, hypercorn.toml, and everything done once before the workers are forked."""

import argparse
import gc
import importlib
import os
import sys
import threading
import tomllib
from typing import Any

from hypercorn.config import Config
from hypercorn.typing import ASGIFramework

from ..config import ConfigurationError
from . import access_log
from .listeners import open_listeners
from .supervisor import Supervisor

DEFAULT_APP = "quartapp:create_app()"
# hypercorn.toml's keys: Config's settings. Hypercorn ignores any other key without a word.
SETTINGS = frozenset(name for name in dir(Config) if not name.startswith("_") and not callable(getattr(Config, name)))
UNSUPPORTED = {
    "use_reloader": "reloading is not supported: restart the server to load new code",
    "quic_bind": "HTTP/3 (quic_bind) is not supported",
    "logger_class": "the access log is quartapp's own (see quartapp/server/access_log.py)",
}


class UsageError(Exception):
    """A command line or hypercorn.toml that cannot be served; its message says why."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quartapp-serve",
        description="Serve an ASGI app with hypercorn: one worker process per core, stopped gracefully by "
        "SIGTERM or SIGINT to this process or to its whole process group.",
    )
    parser.add_argument("app", nargs="?", default=DEFAULT_APP, help=f"module:app or module:factory() ({DEFAULT_APP})")
    parser.add_argument("-c", "--config", help="a hypercorn TOML file (hypercorn.toml)")
    parser.add_argument("-b", "--bind", action="append", help="host:port, [IPv6]:port or unix:path; repeatable")
    parser.add_argument("-w", "--workers", type=int, help="worker processes (default: workers in the file, else "
                        "one per core this process may use)")  # fmt: skip
    parser.add_argument("--access-logfile", help="where access lines go: a file, or - for standard output")
    parser.add_argument("--access-logformat", help="hypercorn's access log format")
    parser.add_argument("--graceful-timeout", type=float, help="seconds requests in flight get after a stop signal")
    return parser


def load_config(args: argparse.Namespace) -> tuple[Config, int]:
    """hypercorn.toml with the command line's settings over it, and the number of workers."""
    settings: dict[str, Any] = {}
    if args.config:
        with open(args.config, "rb") as file:
            settings = tomllib.load(file)
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise UsageError(f"{args.config}: no such setting: {', '.join(unknown)} (a typo?)")
    given = {"bind": args.bind, "workers": args.workers, "accesslog": args.access_logfile,
             "access_log_format": args.access_logformat, "graceful_timeout": args.graceful_timeout}  # fmt: skip
    settings |= {key: value for key, value in given.items() if value is not None}
    for key, reason in UNSUPPORTED.items():
        if settings.get(key):
            raise UsageError(reason)
    if settings.get("worker_class", "asyncio") not in ("asyncio", "uvloop"):
        raise UsageError("worker_class must be asyncio or uvloop")
    workers = settings.pop("workers", None) or os.process_cpu_count() or 1
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UsageError(f"workers must be a whole number of at least 1, not {workers!r}")
    return Config.from_mapping(settings), workers


def load_app(path: str) -> ASGIFramework:
    """Import module:expression and evaluate the expression (an app, or a factory call) in its namespace."""
    module_name, _, expression = path.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # an app module in the current folder, as hypercorn finds it
    module = importlib.import_module(module_name)
    # The operator's own command line, evaluated as hypercorn evaluates it: "create_app()" calls the factory.
    app: ASGIFramework = eval(expression or "app", vars(module))  # noqa: S307
    return app


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config, workers = load_config(args)
        # Read by the app as SERVER_WORKERS: how many processes share the cores (and bcrypt's threads).
        os.environ["QUARTAPP_SERVER_WORKERS"] = str(workers)
        # Created once, here, before the workers are forked: they share its imported code
        # instead of each importing its own copy. The app opens nothing until it starts
        # serving (Quart's before_serving), which each worker does for itself.
        app = load_app(args.app)
        config.logger_class = access_log.for_app(app)
        config.log  # noqa: B018  # set up the error and access logs, shared by every worker
        if threads := [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]:
            raise UsageError(f"the app started threads while it was created ({', '.join(threads)}): "
                             "start them in before_serving, after the workers are forked")  # fmt: skip
        listeners = open_listeners(config, workers)
    except (OSError, tomllib.TOMLDecodeError, UsageError, ConfigurationError) as error:
        print(f"quartapp-serve: {error}", file=sys.stderr)
        return 2
    if config.pid_path:
        with open(config.pid_path, "w") as file:
            file.write(str(os.getpid()))
    # Frozen, the objects imported so far are left alone by the collector, so the pages that
    # hold them stay shared with every worker instead of being copied into each.
    gc.collect()
    gc.freeze()
    return Supervisor(app, config, listeners, workers).run()
