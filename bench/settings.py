from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Every knob of a run; the defaults are `make bench`, the smoke test shrinks them."""

    cost: int = 12  # bcrypt cost of the stored hashes and of both servers
    users: int = 1000  # accounts seeded into each database
    ceiling_seconds: float = 4.0  # per measurement of the bcrypt ceiling
    signin_clients: int = 16
    signin_seconds: float = 15.0
    probe_rate: float = 20.0  # probe requests per second, per probed route
    probe_idle_seconds: float = 6.0  # probing before the flood starts
    flood_clients: int = 64
    flood_seconds: float = 15.0
    overload_clients: int = 256
    overload_seconds: float = 15.0
    page_clients: int = 32
    page_seconds: float = 6.0  # per route
    # A sign-in (form and submit) or probe request not answered by then counts as unanswered.
    timeout: float = 10.0
    settle_seconds: float = 60.0  # longest wait for a server to go idle between scenarios
    quiet_seconds: float = 20.0  # ...and then for other programs to leave the cores alone
    results: Path = ROOT / "bench" / "results"
