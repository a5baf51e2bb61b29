import argparse
import dataclasses
import sys
from pathlib import Path

from .chart import probe_chart
from .pages import PAGE_CLIENTS
from .report import table, write_json
from .run import run
from .settings import Settings


def parse(argv: list[str] | None = None) -> Settings:
    """Read Settings from the command line: one --option per field, the defaults being `make bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="quartapp beside the chapter's Flask app, its naive Quart port and quart-security, under load.",
    )
    for field in dataclasses.fields(Settings):
        kind = Path if field.name == "results" else type(field.default)
        choices = list(PAGE_CLIENTS) if field.name == "page_client" else None
        parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=kind, default=field.default, metavar=kind.__name__.upper(),
            choices=choices, help=f"default: {field.default}" + (f" (one of {', '.join(choices)})" if choices else ""),
        )  # fmt: skip
    return Settings(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON and the chart."""
    settings = parse(argv)
    results = run(settings, log=lambda line: print(line, file=sys.stderr, flush=True))
    write_json(results, settings.results / "latest.json")
    probe_chart(results, settings.results / "probe-latency.png")
    print(table(results))
    print(f"\nraw results: {settings.results / 'latest.json'}, chart: {settings.results / 'probe-latency.png'}")
    return 0
