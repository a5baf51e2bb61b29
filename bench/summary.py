"""Raw sign-ins and samples reduced to counts, rates and latency percentiles."""

from collections import Counter
from typing import Any

from .load import ERROR, REFUSED, SIGNED_IN, SignIn
from .probe import Sample
from .stats import latency_summary


def summarize_sign_ins(attempts: list[SignIn], seconds: float) -> dict[str, Any]:
    """Count and time sign-ins by outcome; the rate counts those done within the scenario."""
    by_outcome = {o: [a for a in attempts if a.outcome == o] for o in (SIGNED_IN, REFUSED, ERROR)}
    signed_in = by_outcome[SIGNED_IN]
    sent = sum(a.sent for a in attempts)
    answered = sum(a.answered for a in attempts)
    return {
        "attempts": len(attempts),
        "signed_in": len(signed_in),
        "per_s": round(sum(a.end <= seconds for a in signed_in) / seconds, 2),
        "latency_ms": latency_summary([a.latency for a in signed_in]),
        "form_latency_ms": latency_summary([a.form_latency for a in attempts if a.form_latency is not None]),
        "refused": len(by_outcome[REFUSED]),
        "refusal_latency_ms": latency_summary([a.latency for a in by_outcome[REFUSED]]),
        "refused_at": dict(Counter(a.detail for a in by_outcome[REFUSED]).most_common()),
        "errors": len(by_outcome[ERROR]),
        # An error with every request answered is a wrong answer; the rest went unanswered.
        "wrong_answers": sum(a.answered == a.sent for a in by_outcome[ERROR]),
        "error_kinds": dict(Counter(a.detail for a in by_outcome[ERROR]).most_common()),
        "requests_sent": sent,
        "requests_answered": answered,
        "requests_per_s": round(answered / seconds, 1),
    }


def summarize_samples(samples: list[Sample], seconds: float) -> dict[str, Any]:
    """Count and time requests; the rate counts the good answers to requests made within seconds."""
    good = [s for s in samples if not s.error]
    failed = [s for s in samples if s.error]
    return {
        "requests": len(samples),
        "per_s": round(sum(s.start < seconds for s in good) / seconds, 1),
        "latency_ms": latency_summary([s.latency for s in good]),
        "errors": len(failed),
        "error_kinds": dict(Counter(s.error for s in failed).most_common()),
    }
