"""The rows of the results table: a heading, or a label and how to read its figure from one server's results."""

from collections.abc import Callable
from typing import Any

from .targets import memory_share, ms, NOISY_CORES, REFERENCE, reference_share, Results, still_busy

ALL = ("p50", "p95", "p99", "max")
Read = Callable[[Results], str]
Row = tuple[str, Read] | str


def at(results: Results, path: str) -> Any:
    """Return the figure at a dotted path ("overload.latency_ms.p99") of one server's results."""
    for key in path.split("."):
        results = results[key]
    return results


def spread(summary: dict[str, Any], *keys: str) -> str:
    """Return "p50 / p99"-style figures of a latency summary, in one unit."""
    values = [summary[k] for k in keys]
    if any(v is None for v in values):
        return "-"
    if max(values) >= 1000:
        return " / ".join(f"{v / 1000:.2f}" for v in values) + " s"
    return " / ".join(f"{v:.1f}" if v < 10 else f"{v:.0f}" for v in values) + " ms"


def _rate(summary: dict[str, Any]) -> str:
    """Read a request rate and its p99 latency."""
    return f"{summary['per_s']:.0f}, {ms(summary['latency_ms']['p99'])}"


def _mib(sizes: list[float]) -> str:
    if len(sizes) > 4:  # one worker per core on a larger machine: the range, to fit the column
        return f"{len(sizes)} x {min(sizes):.0f}-{max(sizes):.0f} MiB"
    return ", ".join(f"{size:.0f}" for size in sizes) + " MiB"


def _probed(r: Results, phase: str) -> dict[str, Any]:
    """The flood scenario's probe summaries of one phase by path: /healthz, then the app's sign-in form."""
    paths: dict[str, Any] = at(r, f"flood.probe.{phase}.paths")
    return paths


def _cpu(run: Results, scenario: str) -> Read:
    def read(r: Results) -> str:
        cpu = r[scenario]["system"]
        flag = (" *" if cpu["other_cores"] > NOISY_CORES else "") + (" !" if still_busy(run, r[scenario]) else "")
        return f"{cpu['server_cores']:.2f} / {cpu['load_generator_cores']:.2f} / {cpu['other_cores']:.2f}{flag}"

    return read


def _sign_in_rows(scenario: str, label: str, ceiling: float) -> list[Row]:
    return [
        (f"{label}: sign-ins/s (x ceiling)", lambda r: "{:.2f} ({:.2f}x)".format(
            r[scenario]["per_s"], r[scenario]["per_s"] / ceiling
        )),
        ("  signed in: p50 / p99", lambda r: spread(at(r, f"{scenario}.latency_ms"), "p50", "p99")),
        ("  refused / errors", lambda r: f"{r[scenario]['refused']} / {r[scenario]['errors']}"),
        ("  requests answered per s", lambda r: f"{r[scenario]['requests_per_s']:.0f}"),
    ]  # fmt: skip


def _overload_rows(scenario: str) -> list[Row]:
    return [
        f"  {scenario}:",
        ("  requests answered", lambda r: f"{r[scenario]['requests_answered']} / {r[scenario]['requests_sent']}"),
        ("  signed in: n, per s", lambda r: f"{r[scenario]['signed_in']}, {r[scenario]['per_s']:.2f}/s"),
        ("  signed in: p50 / p99", lambda r: spread(at(r, f"{scenario}.latency_ms"), "p50", "p99")),
        ("  GET the sign-in form: p50 / p99", lambda r: spread(at(r, f"{scenario}.form_latency_ms"), "p50", "p99")),
        ("  refused 503 + Retry-After: n, p99", lambda r: "{refused}, {p99}".format(
            **r[scenario], p99=ms(at(r, f"{scenario}.refusal_latency_ms.p99"))
        )),
        ("  errors (unanswered / wrong)", lambda r: "{errors} ({u} / {wrong_answers})".format(
            **r[scenario], u=r[scenario]["errors"] - r[scenario]["wrong_answers"]
        )),
    ]  # fmt: skip


def _reference(r: Results, run: Results, client: str = "home") -> str:
    share = reference_share(run, r, client)
    return "-" if share is None else f"{share:.2f}x"


def _memory(r: Results, run: Results) -> str:
    shares = [memory_share(run, r, when) for when in ("memory_idle", "memory_end")]
    return "-" if None in shares else " / ".join(f"{share:.2f}x" for share in shares)


def rows(run: Results, scenarios: list[str]) -> list[Row]:
    """The table, top to bottom."""
    s = run["settings"]
    ceiling = run["ceiling"]["parallel_per_s"]
    flood_probe = "flood.probe.flood"
    return [
        f"1. sign-in throughput, {s['signin_seconds']:g} s: {s['signin_clients']} polite clients, "
        f"then {s['impatient_clients']} that ignore Retry-After",
        *_sign_in_rows("signin", "polite", ceiling),
        *_sign_in_rows("signin-impatient", "impatient", ceiling),
        f"2. probe {s['probe_rate']:g}/s on each of /healthz and GET the sign-in form (p50 / p95 / p99 / max)",
        ("sign-in form", lambda r: list(_probed(r, "idle"))[-1]),
        ("idle", lambda r: spread(at(r, "flood.probe.idle.latency_ms"), *ALL)),
        (f"beside {s['flood_clients']} impatient clients", lambda r: spread(at(r, f"{flood_probe}.latency_ms"), *ALL)),
        ("flood: /healthz p99 / form p99", lambda r: " / ".join(
            ms(path["latency_ms"]["p99"]) for path in _probed(r, "flood").values()
        )),
        ("probe errors idle / flood", lambda r: " / ".join(
            str(at(r, phase)["errors"]) for phase in ("flood.probe.idle", flood_probe)
        )),
        ("flood: sign-ins/s, p99, refused", lambda r: "{per_s:.2f}, {p99}, {refused}".format(
            **r["flood"]["sign_ins"], p99=ms(at(r, "flood.sign_ins.latency_ms.p99"))
        )),
        f"3. overload: {s['overload_clients']} clients, {s['overload_seconds']:g} s, {s['timeout']:g} s per request; "
        "polite, then impatient",
        *_overload_rows("overload"),
        *_overload_rows("overload-impatient"),
        f"4. pages: {s['page_clients']} keep-alive connections ({s['page_client']} client), "
        f"{s['page_seconds']:g} s per route (req/s, p99)",
        ("GET / signed in", lambda r: _rate(r["pages"]["home"])),
        (f"  GET / x {REFERENCE}'s GET /", lambda r: _reference(r, run)),
        ("  server CPU per GET / (µs)", lambda r: str(r["pages"]["home"].get("server_cpu_us", "-"))),
        ("GET / signed in, through wrk", lambda r: _rate(r["pages"]["home_wrk"]) if r["pages"]["home_wrk"] else "-"),
        (f"  GET / x {REFERENCE}'s, through wrk", lambda r: _reference(r, run, "home_wrk")),
        ("GET /healthz", lambda r: _rate(r["pages"]["routes"]["/healthz"])),
        ("trivial route (no db, no session)", lambda r: r["pages"]["light_route"]),
        ("  req/s, p99", lambda r: _rate(r["pages"]["routes"][r["pages"]["light_route"]])),
        ("GET / / trivial route", lambda r: "-" if r["pages"]["ratio"] is None else f"{r['pages']['ratio']:.2f}"),
        ("errors GET / / healthz / trivial", lambda r: " / ".join(
            str(page["errors"]) for page in [r["pages"]["home"], *r["pages"]["routes"].values()]
        )),
        "5. memory: the whole server (every process; PSS, shared pages counted once), then each worker (RSS)",
        ("whole server: idle / end of run", lambda r: "{:.0f} / {:.0f} MiB".format(
            r["memory_idle"]["pss_mib"], r["memory_end"]["pss_mib"]
        )),
        (f"  x {REFERENCE}'s: idle / end of run", lambda r: _memory(r, run)),
        ("per worker: idle", lambda r: _mib(r["memory_idle"]["rss_mib"])),
        *[(f"after {name}", lambda r, name=name: _mib(r[name]["rss_mib_after"])) for name in scenarios],
        ("end of run", lambda r: _mib(r["memory_end"]["rss_mib"])),
        f"CPU cores used (server / load generator / other programs; * more than {NOISY_CORES} cores of noise;",
        f"  ! the server still busy with the last scenario after {s['settle_seconds']:g} s, when this one started)",
        *[(name, _cpu(run, name)) for name in scenarios],
        "Connections dropped by a full accept queue (SYN retried after 1 s or more; counted machine-wide)",
        *[(name, lambda r, name=name: str(r[name]["system"]["listen_overflows"])) for name in scenarios],
    ]  # fmt: skip
