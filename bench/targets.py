from collections.abc import Callable
from typing import Any

SIGNIN_SHARE = 0.9  # of the bcrypt ceiling
PROBE_P99_MS = 50.0
REFUSAL_P99_MS = 100.0
ACCEPTED_P99_MS = 3000.0
PAGE_SHARE = 0.5  # of the cheapest route's throughput
# Other programs using more than this during a scenario make its figures suspect: the run says so.
NOISY_CORES = 0.25

Results = dict[str, Any]
# A target: its label, the scenario it judges, and the check of one server's results.
Target = tuple[str, str, Callable[[Results, Results], tuple[bool, str]]]


def ms(value: float | None) -> str:
    """Format milliseconds for reading: "8.3 ms", "152 ms", "3.04 s"."""
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _signin_rate(run: Results, server: Results) -> tuple[bool, str]:
    share = server["signin"]["per_s"] / run["ceiling"]["parallel_per_s"]
    return share >= SIGNIN_SHARE, f"{share:.2f}x ceiling"


def _probe(run: Results, server: Results) -> tuple[bool, str]:
    flood = server["flood"]["probe"]["flood"]
    p99 = flood["latency_ms"]["p99"]
    if p99 is None:
        return False, "no probe answered"
    met = p99 <= PROBE_P99_MS and flood["errors"] == 0
    return met, f"p99 {ms(p99)} = {p99 / PROBE_P99_MS:.2f}x limit, {flood['errors']} errors"


def _answered(run: Results, server: Results) -> tuple[bool, str]:
    o = server["overload"]
    unanswered = o["requests_sent"] - o["requests_answered"]
    return unanswered == 0, f"{unanswered} of {o['requests_sent']} unanswered"


def _refusals(run: Results, server: Results) -> tuple[bool, str]:
    o = server["overload"]
    if not o["refused"]:
        # Refusing is only called for when the server could not keep up.
        kept_up = _answered(run, server)[0] and _accepted(run, server)[0]
        return kept_up, "none needed" if kept_up else "no 503 refusals"
    p99 = o["refusal_latency_ms"]["p99"]
    return p99 < REFUSAL_P99_MS, f"{o['refused']} refused, p99 {ms(p99)} = {p99 / REFUSAL_P99_MS:.2f}x limit"


def _accepted(run: Results, server: Results) -> tuple[bool, str]:
    p99 = server["overload"]["latency_ms"]["p99"]
    if p99 is None:
        return False, "no sign-in accepted"
    return p99 < ACCEPTED_P99_MS, f"p99 {ms(p99)} = {p99 / ACCEPTED_P99_MS:.2f}x limit"


def _no_errors(run: Results, server: Results) -> tuple[bool, str]:
    # Unanswered requests have their own target; here count the answers that were wrong.
    wrong = server["overload"]["wrong_answers"]
    return not wrong, f"{wrong} wrong answers"


def _pages(run: Results, server: Results) -> tuple[bool, str]:
    ratio = server["pages"]["ratio"]
    if ratio is None:
        return False, "cheapest route not measured"
    return ratio >= PAGE_SHARE, f"{ratio:.2f}x {server['pages']['cheapest_route']}"


TARGETS: list[Target] = [
    (f"1. sign-ins/s >= {SIGNIN_SHARE} x bcrypt ceiling", "signin", _signin_rate),
    (f"2. flood probe p99 <= {PROBE_P99_MS:.0f} ms, no errors", "flood", _probe),
    ("3. overload: every request answered", "overload", _answered),
    (f"3. overload: 503 + Retry-After refusals, p99 < {REFUSAL_P99_MS:.0f} ms", "overload", _refusals),
    (f"3. overload: accepted sign-ins p99 < {ACCEPTED_P99_MS / 1000:.0f} s", "overload", _accepted),
    ("3. overload: no other errors", "overload", _no_errors),
    (f"4. signed-in GET / >= {PAGE_SHARE} x cheapest route", "pages", _pages),
]


def evaluate(run: Results) -> dict[str, list[dict[str, Any]]]:
    """Judge every server against every target, noting where other programs disturbed the scenario."""
    verdicts: dict[str, list[dict[str, Any]]] = {}
    for name, server in run["servers"].items():
        verdicts[name] = []
        for target, scenario, check in TARGETS:
            met, detail = check(run, server)
            noise = server[scenario]["system"]["other_cores"]
            if noise > NOISY_CORES:
                detail += f" (other programs used {noise:.2f} cores meanwhile)"
            verdicts[name].append({"target": target, "met": met, "detail": detail})
    return verdicts
