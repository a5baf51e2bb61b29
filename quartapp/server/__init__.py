"""quartapp's server: hypercorn's workers, one per core, under a supervisor that stops them gracefully.

`quartapp-serve --config hypercorn.toml` (or `python -m quartapp.server`) loads the app once,
binds the listening sockets, forks the workers (each one serving its own socket where the
kernel can balance them), replaces a worker that dies, and on SIGTERM or SIGINT lets every
request in flight at every worker finish before it exits.
"""

from .cli import main

__all__ = ["main"]
