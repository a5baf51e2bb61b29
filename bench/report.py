import json
import re
from collections import Counter
from pathlib import Path

from .rows import rows
from .targets import evaluate, Results, TARGETS

LABEL, COLUMN = 40, 29
INNERMOST_LIST = re.compile(r"\[[^\[\]{}]*\]")
MET = {True: "met", False: "NOT MET", None: "-"}


def scenarios(run: Results) -> list[str]:
    """The scenarios in the order they ran: those with a Meter's reading."""
    first = next(iter(run["servers"].values()))
    return [name for name, result in first.items() if isinstance(result, dict) and "system" in result]


def _errors(run: Results) -> list[str]:
    """List what went wrong, per server and scenario, where anything did."""
    lines = []
    for name, server in run["servers"].items():
        found: dict[str, dict[str, int]] = {}
        for scenario in scenarios(run):
            result = server[scenario]
            if "error_kinds" in result:
                found[scenario] = result["error_kinds"]
        probe = server["flood"]["probe"]
        found["flood probe"] = dict(Counter(probe["idle"]["error_kinds"]) + Counter(probe["flood"]["error_kinds"]))
        found["flood sign-ins"] = server["flood"]["sign_ins"]["error_kinds"]
        pages = server["pages"]
        found["GET /"] = pages["home"]["error_kinds"]
        found |= {f"GET {path}": summary["error_kinds"] for path, summary in pages["routes"].items()}
        for where, kinds in found.items():
            if kinds:
                lines.append(f"  {name}, {where}: " + ", ".join(f"{n} x {kind}" for kind, n in kinds.items()))
    return ["", "Errors", *lines] if lines else []


def table(run: Results) -> str:
    """Render the results, quartapp beside the baselines, then the targets."""
    names = list(run["servers"])
    m, c = run["machine"], run["ceiling"]
    lines = [
        f"{m['cores']} cores, {m['cpu']}, Python {m['python']}; load generator on {m.get('load_generator_loop')}",
        *(f"{n}: {r['memory_idle']['workers']} worker(s), {r['serving']}" for n, r in run["servers"].items()),
        f"bcrypt ceiling at cost {c['cost']}: {c['serial_per_s']:.2f} checks/s on 1 thread, "
        f"{c['parallel_per_s']:.2f} on {c['threads']} threads (other programs: {c['other_cores']:.2f} cores)",
        "",
        " " * LABEL + "".join(f"{name:<{COLUMN}}" for name in names).rstrip(),
    ]
    for row in rows(run, scenarios(run)):
        if isinstance(row, str):
            lines.append(row)
            continue
        text, read = row
        cells = (read(run["servers"][n]) for n in names)
        # A figure wider than its column still keeps two spaces from the next one.
        lines.append(f"  {text:<{LABEL - 2}}" + "".join(f"{cell:<{COLUMN - 2}}  " for cell in cells).rstrip())
    lines += _errors(run)
    lines += ["", "Targets"]
    verdicts = evaluate(run)
    width = max(map(len, names)) + 2
    for i, (target, _, _) in enumerate(TARGETS):
        lines.append(f"  {target}")
        for n in names:
            verdict = verdicts[n][i]
            lines.append(f"    {n:<{width}}{MET[verdict['met']]:<9}{verdict['detail']}")
    return "\n".join(lines)


def write_json(run: Results, path: Path) -> None:
    """Write the raw results and the verdicts, each innermost list (a probe sample) on one line."""
    text = json.dumps(run | {"targets": evaluate(run)}, indent=1)
    # JSON strings hold no raw newlines, so only the whitespace between tokens is joined.
    text = INNERMOST_LIST.sub(lambda m: re.sub(r"\s*\n\s*", " ", m.group()).replace("[ ", "[").replace(" ]", "]"), text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
