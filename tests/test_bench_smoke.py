import json
import os
import shutil
from pathlib import Path

import pytest

# The bench extra (installed by `make test` and `make bench`) brings the baselines and the load generator.
BENCH_EXTRA = [
    "aiohttp", "psutil", "matplotlib", "flask_login", "flask_wtf", "flask_bcrypt", "flask_sqlalchemy", "gunicorn",
    "quart_security",
]  # fmt: skip
for module in BENCH_EXTRA:
    pytest.importorskip(module, reason=f"{module} is missing: the bench extra is not installed (make test installs it)")

from bench.cli import main  # noqa: E402
from bench.run import SCENARIOS  # noqa: E402
from bench.targets import TARGETS  # noqa: E402

SERVERS = ("quartapp", "flask", "naive", "quart-security")
# quart-security's SQLite file now and then stays locked after a scenario (a request cut in the
# middle of its transaction), and every later sign-in there fails: its results are reported as
# they are, and here only counted, not required to succeed.
FLAKY_BASELINES = ("quart-security",)
SIGN_IN_SCENARIOS = ("signin", "signin-impatient", "overload", "overload-impatient")
TINY = {
    "cost": 4,
    "users": 20,
    "ceiling-seconds": 0.2,
    "signin-clients": 2,
    "impatient-clients": 3,
    "signin-seconds": 1.0,  # a sign-in must fit: two clients at once may wait on a SQLite write lock
    "probe-idle-seconds": 0.2,
    "flood-clients": 4,
    "flood-seconds": 0.2,
    "overload-clients": 8,
    "overload-seconds": 0.2,
    "page-clients": 2,
    "page-seconds": 0.2,
    "timeout": 10,
    "settle-seconds": 5,
    "quiet-seconds": 0,
    "settle-window": 0.1,
}


def test_bench_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make bench` shrunk to seconds: all four servers really served, every scenario, table, JSON and chart."""
    argv = [f"--{name}={value}" for name, value in TINY.items()] + [f"--results={tmp_path}"]
    assert main(argv) == 0

    printed = capsys.readouterr().out
    for name in SERVERS:
        assert name in printed
    assert "Targets" in printed
    assert (tmp_path / "probe-latency.png").read_bytes().startswith(b"\x89PNG")
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["ceiling"]["serial_per_s"] > 0
    assert results["ceiling"]["parallel_per_s"] > 0
    assert list(results["servers"]) == list(SERVERS)
    for name in SERVERS:
        server = results["servers"][name]
        assert set(SCENARIOS) <= set(server), server.keys()
        for scenario in SIGN_IN_SCENARIOS:
            result = server[scenario]
            what = (name, scenario, result["error_kinds"], result["attempts"])
            # Every attempt is counted once, as a sign-in, a refusal or an error of a named kind.
            assert result["signed_in"] + result["refused"] + result["errors"] == result["attempts"] > 0, what
            assert sum(result["error_kinds"].values()) == result["errors"], what
            if name in FLAKY_BASELINES:
                continue
            # A light load at cost 4: every sign-in and every request must succeed.
            assert result["signed_in"] > 0, what
            assert result["errors"] == 0, what
            assert result["requests_answered"] == result["requests_sent"] > 0, what
        assert server["signin-impatient"]["manners"] == server["overload-impatient"]["manners"] == "impatient"
        assert server["flood"]["sign_ins"]["attempts"] > 0, server["flood"]["sign_ins"]
        if name not in FLAKY_BASELINES:
            assert server["flood"]["sign_ins"]["signed_in"] > 0, server["flood"]["sign_ins"]
        for phase in ("idle", "flood"):
            assert server["flood"]["probe"][phase]["requests"] > 0
            assert server["flood"]["probe"][phase]["errors"] == 0
        pages = server["pages"]
        assert pages["client"] == "lean"
        assert set(pages["routes"]) == {"/healthz", pages["light_route"]}
        for page in [pages["home"], *pages["routes"].values()]:
            assert page["per_s"] > 0, pages
            assert page["errors"] == 0, pages
        if shutil.which("wrk"):
            assert pages["home_wrk"]["per_s"] > 0, pages
            assert pages["home_wrk"]["errors"] == 0, pages
        assert server["memory_idle"]["rss_mib"]
        assert server["memory_end"]["rss_mib"]
        # The whole server, every process: more than its largest worker's resident size alone would be.
        assert server["memory_end"]["pss_mib"] > 0.5 * max(server["memory_end"]["rss_mib"])
        assert len(results["targets"][name]) == len(TARGETS)
    # One worker per core, quartapp as make run serves it and each baseline as its server suggests.
    for name in SERVERS:
        assert results["servers"][name]["memory_idle"]["workers"] == os.process_cpu_count()
    # Each probed its own sign-in form beside /healthz.
    assert list(results["servers"]["flask"]["flood"]["probe"]["idle"]["paths"]) == ["/healthz", "/signin"]
    assert list(results["servers"]["quart-security"]["flood"]["probe"]["idle"]["paths"]) == ["/healthz", "/login"]
