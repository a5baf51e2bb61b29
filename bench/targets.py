from collections.abc import Callable
from typing import Any

SIGNIN_SHARE = 0.9  # of the bcrypt ceiling
PROBE_P99_MS = 50.0
PROBE_STRICT_P99_MS = 20.0  # reported beside the target: how far below it the probe stays
REFUSAL_P99_MS = 100.0
ACCEPTED_P99_MS = 3000.0
PAGE_P99_MS = 50.0
PAGE_SHARE = 0.5  # of the trivial route's throughput, in the same process
# quartapp's signed-in GET / against the chapter's Flask app's: the target, and the goal beyond it.
REFERENCE = "flask"
REFERENCE_SHARE, REFERENCE_GOAL = 1.5, 2.0
# The whole server's memory (every process, shared pages counted once) against the Flask app's.
MEMORY_SHARE = 1.5
# Other programs using more than this during a scenario make its figures suspect: the run says so.
NOISY_CORES = 0.25

Results = dict[str, Any]
# met: True, False, or None where the target does not apply (the reference against itself).
Verdict = tuple[bool | None, str]
Check = Callable[[Results, str, Results], Verdict]
# A target: its label, the scenario it judges, and the check of one server's (named) results.
Target = tuple[str, str, Check]


def ms(value: float | None) -> str:
    """Format milliseconds for reading: "8.3 ms", "152 ms", "3.04 s"."""
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _p99_below(p99: float | None, limit: float, what: str, strict: bool = True) -> Verdict:
    if p99 is None:
        return False, f"no {what}"
    return (p99 < limit if strict else p99 <= limit), f"p99 {ms(p99)} = {p99 / limit:.2f}x limit"


def _signin_rate(scenario: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        share = server[scenario]["per_s"] / run["ceiling"]["parallel_per_s"]
        return share >= SIGNIN_SHARE, f"{share:.2f}x ceiling ({server[scenario]['per_s']:.2f}/s)"

    return check


def _accepted(scenario: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        return _p99_below(server[scenario]["latency_ms"]["p99"], ACCEPTED_P99_MS, "sign-in accepted")

    return check


def _probe(limit: float) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        flood = server["flood"]["probe"]["flood"]
        met, detail = _p99_below(flood["latency_ms"]["p99"], limit, "probe answered", strict=False)
        return met and flood["errors"] == 0, f"{detail}, {flood['errors']} errors"

    return check


def _answered(scenario: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        o = server[scenario]
        unanswered = o["requests_sent"] - o["requests_answered"]
        return unanswered == 0, f"{unanswered} of {o['requests_sent']} unanswered"

    return check


def _refusals(scenario: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        o = server[scenario]
        if not o["refused"]:
            # Refusing is only called for when the server could not keep up.
            kept_up = _answered(scenario)(run, name, server)[0] and _accepted(scenario)(run, name, server)[0]
            return kept_up, "none needed" if kept_up else "no 503 refusals"
        met, detail = _p99_below(o["refusal_latency_ms"]["p99"], REFUSAL_P99_MS, "refusal")
        return met, f"{o['refused']} refused, {detail}"

    return check


def _no_errors(scenario: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        # Unanswered requests have their own target; here count the answers that were wrong.
        wrong = server[scenario]["wrong_answers"]
        return not wrong, f"{wrong} wrong answers"

    return check


def _page_p99(run: Results, name: str, server: Results) -> Verdict:
    home = server["pages"]["home"]
    met, detail = _p99_below(home["latency_ms"]["p99"], PAGE_P99_MS, "page answered", strict=False)
    return met and home["errors"] == 0, f"{detail}, {home['per_s']:.0f} req/s, {home['errors']} errors"


def reference_share(run: Results, server: Results, client: str = "home") -> float | None:
    """Return a server's signed-in GET / rate as a multiple of the Flask app's (client "home", or "home_wrk")."""
    reference = (run["servers"].get(REFERENCE, {}).get("pages", {}).get(client) or {}).get("per_s")
    measured = server["pages"].get(client)
    return measured["per_s"] / reference if reference and measured else None


def _beside_reference(client: str) -> Check:
    def check(run: Results, name: str, server: Results) -> Verdict:
        if name == REFERENCE:
            return None, "the reference"
        if client == "home_wrk" and server["pages"].get(client) is None:
            return None, "wrk is not installed"
        share = reference_share(run, server, client)
        if share is None:
            return False, f"{REFERENCE} GET / not measured"
        return share >= REFERENCE_SHARE, f"{share:.2f}x {REFERENCE} ({share / REFERENCE_GOAL:.0%} of the way to 2x)"

    return check


def memory_share(run: Results, server: Results, when: str) -> float | None:
    """A server's whole memory (PSS, every process) as a multiple of the Flask app's, "memory_idle" or "memory_end"."""
    reference = run["servers"].get(REFERENCE, {}).get(when, {}).get("pss_mib")
    return server[when]["pss_mib"] / reference if reference else None


def _memory(run: Results, name: str, server: Results) -> Verdict:
    if name == REFERENCE:
        return None, "the reference"
    shares = [memory_share(run, server, when) for when in ("memory_idle", "memory_end")]
    if None in shares:
        return False, f"{REFERENCE}'s memory not measured"
    idle, end = (share or 0.0 for share in shares)
    return max(idle, end) <= MEMORY_SHARE, f"{idle:.2f}x idle, {end:.2f}x at the end"


def _beside_trivial(run: Results, name: str, server: Results) -> Verdict:
    pages = server["pages"]
    if pages["ratio"] is None:
        return False, f"{pages['light_route']} not measured"
    return pages["ratio"] >= PAGE_SHARE, f"{pages['ratio']:.2f}x {pages['light_route']}"


def _overload_targets(scenario: str) -> list[Target]:
    return [
        (f"{scenario}: every request answered", scenario, _answered(scenario)),
        (f"{scenario}: 503 + Retry-After refusals, p99 < {REFUSAL_P99_MS:.0f} ms", scenario, _refusals(scenario)),
        (f"{scenario}: accepted sign-ins p99 < {ACCEPTED_P99_MS / 1000:.0f} s", scenario, _accepted(scenario)),
        (f"{scenario}: no other errors", scenario, _no_errors(scenario)),
    ]


TARGETS: list[Target] = [
    (f"signin: sign-ins/s >= {SIGNIN_SHARE} x bcrypt ceiling", "signin", _signin_rate("signin")),
    (f"signin-impatient: sign-ins/s >= {SIGNIN_SHARE} x bcrypt ceiling", "signin-impatient",
     _signin_rate("signin-impatient")),
    (f"signin-impatient: accepted sign-ins p99 < {ACCEPTED_P99_MS / 1000:.0f} s", "signin-impatient",
     _accepted("signin-impatient")),
    (f"flood: probe p99 <= {PROBE_P99_MS:.0f} ms, no errors", "flood", _probe(PROBE_P99_MS)),
    (f"flood: probe p99 <= {PROBE_STRICT_P99_MS:.0f} ms, no errors (stricter)", "flood", _probe(PROBE_STRICT_P99_MS)),
    *_overload_targets("overload"),
    *_overload_targets("overload-impatient"),
    (f"pages: signed-in GET / p99 <= {PAGE_P99_MS:.0f} ms", "pages", _page_p99),
    (f"pages: GET / >= {REFERENCE_SHARE} x {REFERENCE}'s GET / req/s", "pages", _beside_reference("home")),
    (f"pages: the same through wrk, >= {REFERENCE_SHARE} x {REFERENCE}'s", "pages", _beside_reference("home_wrk")),
    (f"pages: GET / >= {PAGE_SHARE} x the same process's trivial route", "pages", _beside_trivial),
    (f"memory: whole server (PSS) <= {MEMORY_SHARE} x {REFERENCE}'s, idle and at the end", "pages", _memory),
]  # fmt: skip


def still_busy(run: Results, result: Results) -> bool:
    """Whether a scenario started before its server went idle: the last one's backlog was still being served."""
    return bool(result["before"]["idle_wait_s"] >= run["settings"]["settle_seconds"])


def evaluate(run: Results) -> dict[str, list[dict[str, Any]]]:
    """Judge every server against every target, noting where other programs disturbed the scenario."""
    verdicts: dict[str, list[dict[str, Any]]] = {}
    for name, server in run["servers"].items():
        verdicts[name] = []
        for target, scenario, check in TARGETS:
            met, detail = check(run, name, server)
            noise = server[scenario]["system"]["other_cores"]
            if noise > NOISY_CORES:
                detail += f" (other programs used {noise:.2f} cores meanwhile)"
            if still_busy(run, server[scenario]):
                detail += " (started before the server was done with the last scenario)"
            verdicts[name].append({"target": target, "met": met, "detail": detail})
    return verdicts
