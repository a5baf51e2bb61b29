from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Every knob of a run; the defaults are `make bench`, the smoke test shrinks them."""

    cost: int = 12  # bcrypt cost of the stored hashes and of the servers
    users: int = 1000  # accounts seeded into each database
    ceiling_seconds: float = 4.0  # per measurement of the bcrypt ceiling
    signin_clients: int = 16  # polite: wait part of Retry-After after a 503
    impatient_clients: int = 32  # ignore Retry-After: start over at once after a 503
    signin_seconds: float = 10.0  # each of the polite and the impatient sign-in scenarios
    probe_rate: float = 20.0  # probe requests per second, per probed route
    probe_idle_seconds: float = 5.0  # probing before the flood starts
    flood_clients: int = 64  # impatient
    flood_seconds: float = 10.0
    overload_clients: int = 256  # once polite, once impatient
    overload_seconds: float = 10.0  # each
    page_clients: int = 32  # keep-alive connections
    page_seconds: float = 4.0  # per route
    page_client: str = "lean"  # or "aiohttp": the page clients' HTTP library
    # A request (a probe's, a page's, either of a sign-in's two) not answered by then counts as unanswered.
    timeout: float = 10.0
    settle_seconds: float = 60.0  # longest wait for a server to go idle between scenarios
    # ...and then for other programs to leave the cores alone: at most this long before each of the
    # 18 scenario runs, so that a busy machine does not stretch the run by minutes (a noisy one is marked).
    quiet_seconds: float = 6.0
    settle_window: float = 0.25  # seconds of each look at the cores while waiting
    results: Path = ROOT / "bench" / "results"
