import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .targets import evaluate, ms, NOISY_CORES, Results, TARGETS

SCENARIOS = ("signin", "flood", "overload", "pages")
ALL = ("p50", "p95", "p99", "max")
LABEL, COLUMN = 40, 26
INNERMOST_LIST = re.compile(r"\[[^\[\]{}]*\]")

Row = tuple[str, Callable[[Results], str]] | str


def _at(results: Results, path: str) -> Any:
    """Return the figure at a dotted path ("overload.latency_ms.p99") of one server's results."""
    for key in path.split("."):
        results = results[key]
    return results


def _spread(summary: dict[str, Any], *keys: str) -> str:
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


def _page_errors(r: Results) -> str:
    return " / ".join(str(page["errors"]) for page in [r["pages"]["home"], *r["pages"]["routes"].values()])


def _light(r: Results) -> str:
    light: str = next(path for path in r["pages"]["routes"] if path != "/healthz")
    return light


def _ratio(pages: Results) -> str:
    return "-" if pages["ratio"] is None else f"{pages['ratio']:.2f} of {pages['cheapest_route']}"


def _mib(sizes: list[float]) -> str:
    return ", ".join(f"{size:.0f}" for size in sizes) + " MiB"


def _overflows(scenario: str) -> Callable[[Results], str]:
    return lambda r: str(r[scenario]["system"]["listen_overflows"])


def _cpu(scenario: str) -> Callable[[Results], str]:
    def read(r: Results) -> str:
        cpu = r[scenario]["system"]
        flag = " *" if cpu["other_cores"] > NOISY_CORES else ""
        return f"{cpu['server_cores']:.2f} / {cpu['load_generator_cores']:.2f} / {cpu['other_cores']:.2f}{flag}"

    return read


def _rows(run: Results) -> list[Row]:
    """The table: a heading, or a label and how to read its figure from one server's results."""
    s = run["settings"]
    ceiling = run["ceiling"]["parallel_per_s"]
    flood_probe = "flood.probe.flood"
    return [
        f"1. sign-in throughput: {s['signin_clients']} clients, {s['signin_seconds']:g} s",
        ("sign-ins/s (x ceiling)", lambda r: f"{r['signin']['per_s']:.2f} ({r['signin']['per_s'] / ceiling:.2f}x)"),
        ("latency p50 / p99", lambda r: _spread(_at(r, "signin.latency_ms"), "p50", "p99")),
        ("refused / errors", lambda r: f"{r['signin']['refused']} / {r['signin']['errors']}"),
        f"2. probe {s['probe_rate']:g}/s on each of /healthz, GET /signin (p50 / p95 / p99 / max)",
        ("idle", lambda r: _spread(_at(r, "flood.probe.idle.latency_ms"), *ALL)),
        (f"{s['flood_clients']}-client flood", lambda r: _spread(_at(r, f"{flood_probe}.latency_ms"), *ALL)),
        ("flood: /healthz p99 / /signin p99", lambda r: " / ".join(
            ms(_at(r, flood_probe)["paths"][path]["latency_ms"]["p99"]) for path in ("/healthz", "/signin")
        )),
        ("probe errors idle / flood", lambda r: " / ".join(
            str(_at(r, phase)["errors"]) for phase in ("flood.probe.idle", flood_probe)
        )),
        ("flood: sign-ins/s, p99, refused", lambda r: "{per_s:.2f}, {p99}, {refused}".format(
            **r["flood"]["sign_ins"], p99=ms(_at(r, "flood.sign_ins.latency_ms.p99"))
        )),
        f"3. overload: {s['overload_clients']} clients, {s['overload_seconds']:g} s, {s['timeout']:g} s timeout",
        ("requests answered", lambda r: f"{r['overload']['requests_answered']} / {r['overload']['requests_sent']}"),
        ("signed in: n, per s", lambda r: f"{r['overload']['signed_in']}, {r['overload']['per_s']:.2f}/s"),
        ("signed in: p50 / p99", lambda r: _spread(_at(r, "overload.latency_ms"), "p50", "p99")),
        ("GET /signin (the form): p50 / p99", lambda r: _spread(_at(r, "overload.form_latency_ms"), "p50", "p99")),
        ("refused 503 + Retry-After: n, p99", lambda r: "{refused}, {p99}".format(
            **r["overload"], p99=ms(_at(r, "overload.refusal_latency_ms.p99"))
        )),
        ("errors", lambda r: f"{r['overload']['errors']}"),
        f"4. signed-in pages: {s['page_clients']} clients, {s['page_seconds']:g} s per route (req/s, p99)",
        ("GET / signed in", lambda r: _rate(r["pages"]["home"])),
        ("GET /healthz", lambda r: _rate(r["pages"]["routes"]["/healthz"])),
        ("no database or session: route", lambda r: _light(r)),
        ("  req/s, p99", lambda r: _rate(r["pages"]["routes"][_light(r)])),
        ("GET / / cheapest route", lambda r: _ratio(r["pages"])),
        ("errors", _page_errors),
        "5. memory: resident size per worker",
        ("idle", lambda r: _mib(r["memory_idle"]["rss_mib"])),
        *[(f"after {name}", lambda r, name=name: _mib(r[name]["rss_mib_after"])) for name in SCENARIOS[:-1]],
        ("end of run", lambda r: _mib(r["memory_end"]["rss_mib"])),
        f"CPU cores used (server / load generator / other programs; * more than {NOISY_CORES} cores of noise)",
        *[(name, _cpu(name)) for name in SCENARIOS],
        "Connections dropped by a full accept queue (SYN retried after 1 s or more; counted machine-wide)",
        *[(name, _overflows(name)) for name in SCENARIOS],
    ]  # fmt: skip


def _errors(run: Results) -> list[str]:
    """List what went wrong, per server and scenario, where anything did."""
    lines = []
    for name, server in run["servers"].items():
        probe = server["flood"]["probe"]
        found = {
            "sign-in": server["signin"]["error_kinds"],
            "probe": dict(Counter(probe["idle"]["error_kinds"]) + Counter(probe["flood"]["error_kinds"])),
            "flood sign-ins": server["flood"]["sign_ins"]["error_kinds"],
            "overload": server["overload"]["error_kinds"],
            "GET /": server["pages"]["home"]["error_kinds"],
        } | {f"GET {path}": summary["error_kinds"] for path, summary in server["pages"]["routes"].items()}
        for where, kinds in found.items():
            if kinds:
                lines.append(f"  {name}, {where}: " + ", ".join(f"{n} x {kind}" for kind, n in kinds.items()))
    return ["", "Errors", *lines] if lines else []


def table(run: Results) -> str:
    """Render the results, quartapp beside the baseline, then the targets."""
    names = list(run["servers"])
    m, c = run["machine"], run["ceiling"]
    lines = [
        f"{m['cores']} cores, {m['cpu']}, Python {m['python']}",
        "; ".join(f"{n}: {r['memory_idle']['workers']} worker(s), {r['serving']}" for n, r in run["servers"].items()),
        f"bcrypt ceiling at cost {c['cost']}: {c['serial_per_s']:.2f} checks/s on 1 thread, "
        f"{c['parallel_per_s']:.2f} on {c['threads']} threads (other programs: {c['other_cores']:.2f} cores)",
        "",
        " " * LABEL + "".join(f"{name:<{COLUMN}}" for name in names).rstrip(),
    ]
    for row in _rows(run):
        if isinstance(row, str):
            lines.append(row)
            continue
        text, read = row
        lines.append(f"  {text:<{LABEL - 2}}" + "".join(f"{read(run['servers'][n]):<{COLUMN}}" for n in names).rstrip())
    lines += _errors(run)
    lines += ["", "Targets"]
    verdicts = evaluate(run)
    for i, (target, _, _) in enumerate(TARGETS):
        lines.append(f"  {target}")
        for n in names:
            verdict = verdicts[n][i]
            lines.append(f"    {n:<10}{'met' if verdict['met'] else 'NOT MET':<9}{verdict['detail']}")
    return "\n".join(lines)


def write_json(run: Results, path: Path) -> None:
    """Write the raw results and the verdicts, each innermost list (a probe sample) on one line."""
    text = json.dumps(run | {"targets": evaluate(run)}, indent=1)
    # JSON strings hold no raw newlines, so only the whitespace between tokens is joined.
    text = INNERMOST_LIST.sub(lambda m: re.sub(r"\s*\n\s*", " ", m.group()).replace("[ ", "[").replace(" ]", "]"), text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
