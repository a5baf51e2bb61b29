"""The listening sockets, made once by the supervisor: one per worker and address where the kernel can share.

With a single socket shared by every worker (hypercorn's way) the workers race for each new
connection, and a burst tends to land on one of them: the most recently idle loop accepts
until the queue is empty. On Linux each worker gets a socket of its own on the same address
(SO_REUSEPORT), and the kernel spreads new connections over them by their addresses' hash.
The supervisor keeps every socket open, so the connections queued at a worker that dies wait
for its replacement instead of being reset.
"""

import errno
import socket
import sys
from dataclasses import dataclass, field

from hypercorn.config import Config

# Elsewhere SO_REUSEPORT lets several sockets bind but does not balance connections between them.
BALANCED = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class BindError(OSError):
    """An address that cannot be served; its message says which and why."""


@dataclass
class Listener:
    """One address served: a socket per worker slot, or one that every worker shares."""

    bind: str
    secure: bool
    sockets: list[socket.socket] = field(default_factory=list)

    def socket_for(self, slot: int) -> socket.socket:
        return self.sockets[slot % len(self.sockets)]


@dataclass
class Listeners:
    listeners: list[Listener]

    def binds_for(self, slot: int) -> tuple[list[str], list[str]]:
        """The (secure, insecure) binds of a worker in slot: its own sockets, as hypercorn's fd:// binds."""
        binds: tuple[list[str], list[str]] = ([], [])
        for listener in self.listeners:
            binds[0 if listener.secure else 1].append(f"fd://{listener.socket_for(slot).fileno()}")
        return binds

    def keep_only(self, slot: int) -> None:
        """Close every socket but slot's, in a worker: another slot's queue must not outlive its worker."""
        for listener in self.listeners:
            mine = listener.socket_for(slot)
            for sock in listener.sockets:
                if sock is not mine:
                    sock.close()

    def close(self) -> None:
        for listener in self.listeners:
            for sock in listener.sockets:
                sock.close()

    def describe(self) -> str:
        return ", ".join(f"{'https' if listener.secure else 'http'}://{listener.bind}" for listener in self.listeners)


def open_listeners(config: Config, workers: int) -> Listeners:
    """Bind every address of config (bind, and insecure_bind when serving TLS) for workers workers."""
    secure = config.ssl_enabled
    addresses = [(bind, secure) for bind in config.bind]
    if secure:
        addresses += [(bind, False) for bind in config.insecure_bind]
    opened = Listeners([])
    try:
        for bind, is_secure in addresses:
            listener = Listener(bind, is_secure)
            opened.listeners.append(listener)
            if bind.startswith(("unix:", "fd://")) or not BALANCED:
                # Hypercorn's own socket set-up (umask and owner of a Unix socket), one socket for all.
                shared = Config.from_mapping(bind=[bind], workers=1, umask=config.umask, user=config.user,
                                             group=config.group)  # fmt: skip
                listener.sockets = shared.create_sockets().insecure_sockets
            else:
                listener.sockets = _balanced(bind, workers, config.backlog)
    except BaseException:
        opened.close()
        raise
    return opened


def _balanced(bind: str, count: int, backlog: int) -> list[socket.socket]:
    """count listening sockets on one TCP address, the kernel balancing connections among them."""
    host, _, port_text = bind.replace("[", "").replace("]", "").rpartition(":")
    if not host or not port_text.isdigit():
        raise BindError(f"cannot serve {bind!r}: an address is host:port, [IPv6]:port, unix:path or fd://number")
    port = int(port_text)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        # SO_REUSEPORT would let these sockets join those of a server already listening
        # there (another copy of this one, say) and split its traffic with it: refuse instead.
        _check_free(family, host, port, bind)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # port 0: the others take the port the first one got
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise BindError(f"cannot serve {bind}: {error.strerror or error}") from error
    return sockets


def _check_free(family: int, host: str, port: int, bind: str) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise BindError(f"cannot serve {bind}: another program is listening there") from None
            raise BindError(f"cannot serve {bind}: {error.strerror or error}") from error
