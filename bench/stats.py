import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the nearest-rank q-th percentile (0 < q <= 100) of values, None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Return the count and the p50/p95/p99/max of latencies, in milliseconds."""
    summary: dict[str, float | int | None] = {"n": len(seconds)}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        value = percentile(seconds, q)
        summary[name] = None if value is None else round(value * 1000, 1)
    return summary
