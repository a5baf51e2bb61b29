import json
from pathlib import Path

import pytest

# The bench extra (installed by `make test` and `make bench`) brings the baseline and the load generator.
BENCH_EXTRA = [
    "aiohttp", "psutil", "matplotlib", "flask_login", "flask_wtf", "flask_bcrypt", "flask_sqlalchemy", "gunicorn"
]  # fmt: skip
for module in BENCH_EXTRA:
    pytest.importorskip(module, reason=f"{module} is missing: the bench extra is not installed (make test installs it)")

from bench.cli import main  # noqa: E402

TINY = {
    "cost": 4,
    "users": 20,
    "ceiling-seconds": 0.2,
    "signin-clients": 2,
    "signin-seconds": 0.5,
    "probe-idle-seconds": 0.5,
    "flood-clients": 4,
    "flood-seconds": 0.5,
    "overload-clients": 8,
    "overload-seconds": 0.5,
    "page-clients": 2,
    "page-seconds": 0.3,
    "timeout": 10,
    "settle-seconds": 5,
    "quiet-seconds": 0,
}


def test_bench_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make bench` shrunk to seconds: both servers really served, every scenario, table, JSON and chart."""
    argv = [f"--{name}={value}" for name, value in TINY.items()] + [f"--results={tmp_path}"]
    assert main(argv) == 0

    printed = capsys.readouterr().out
    assert "quartapp" in printed
    assert "baseline" in printed
    assert "Targets" in printed
    assert (tmp_path / "probe-latency.png").read_bytes().startswith(b"\x89PNG")
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["ceiling"]["serial_per_s"] > 0
    assert results["ceiling"]["parallel_per_s"] > 0
    for name in ("quartapp", "baseline"):
        server = results["servers"][name]
        # A light load at cost 4: every sign-in and every request must succeed on both.
        assert server["signin"]["signed_in"] > 0, server["signin"]
        assert server["signin"]["errors"] == 0, server["signin"]
        for phase in ("idle", "flood"):
            assert server["flood"]["probe"][phase]["requests"] > 0
            assert server["flood"]["probe"][phase]["errors"] == 0
        assert server["overload"]["requests_answered"] == server["overload"]["requests_sent"] > 0
        for page in [server["pages"]["home"], *server["pages"]["routes"].values()]:
            assert page["per_s"] > 0, server["pages"]
            assert page["errors"] == 0, server["pages"]
        assert server["memory_idle"]["rss_mib"]
        assert server["memory_end"]["rss_mib"]
        assert len(results["targets"][name]) == 7
