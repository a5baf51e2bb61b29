from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .targets import ms, PROBE_P99_MS, PROBE_STRICT_P99_MS

# /healthz, then the app's sign-in form (each app's own path).
COLOURS = ("tab:blue", "tab:orange")


def probe_chart(run: dict[str, Any], path: Path) -> None:
    """Draw each server's probe latencies over time, idle then flooded, one panel per server."""
    servers = run["servers"]
    timeout_ms = run["settings"]["timeout"] * 1000
    # Figure rather than pyplot: no global state and no GUI backend, only a PNG file.
    figure = Figure(figsize=(12, 3.2 * len(servers)), layout="constrained")
    axes = figure.subplots(len(servers), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, (name, server) in zip(axes, servers.items(), strict=True):
        flood = server["flood"]
        columns = flood["samples"]["columns"]
        rows = [dict(zip(columns, row, strict=True)) for row in flood["samples"]["rows"]]
        ax.axvspan(
            0,
            flood["seconds"],
            color="tab:red",
            alpha=0.07,
            label=f"{flood['clients']} sign-in clients ignoring Retry-After",
        )
        for probe_path, colour in zip(flood["probe"]["flood"]["paths"], COLOURS, strict=True):
            ok = [r for r in rows if r["path"] == probe_path and not r["error"]]
            failed = [r for r in rows if r["path"] == probe_path and r["error"]]
            x, y = [r["start_s"] for r in ok], [r["latency_ms"] for r in ok]
            ax.scatter(x, y, s=6, color=colour, label=f"GET {probe_path}")
            if failed:
                ax.scatter(
                    [r["start_s"] for r in failed], [min(r["latency_ms"], timeout_ms) for r in failed],
                    s=24, marker="x", color=colour, label=f"GET {probe_path} failed",
                )  # fmt: skip
        ax.axhline(PROBE_P99_MS, color="grey", linestyle="--", linewidth=1, label=f"{PROBE_P99_MS:.0f} ms target (p99)")
        ax.axhline(PROBE_STRICT_P99_MS, color="grey", linestyle=":", linewidth=1, label=f"{PROBE_STRICT_P99_MS:.0f} ms")
        p99 = flood["probe"]["flood"]["latency_ms"]["p99"]
        ax.set_title(f"{name}: probe p99 during the flood {ms(p99)}", loc="left")
        ax.set_yscale("log")
        ax.set_ylabel("latency (ms, log)")
        ax.grid(True, which="major", alpha=0.3)
        # Beside the panel: inside it, the legend would hide the flood's first seconds.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", markerscale=2)
    axes[-1].set_xlabel("seconds since the flood started (latency counted from each request's scheduled time)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
