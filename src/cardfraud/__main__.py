"""Command line: ``python -m cardfraud <command> [options]``; each stage runs without Jupyter."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "load": ("cardfraud.data.load_step", "validate an extract and print its profile"),
    "simulate": ("cardfraud.simulator.command", "simulate transactions to a CSV or Parquet file"),
    "geo": ("cardfraud.geo.step", "hot spots, suspected points of compromise and cards at risk"),
    "flow": ("cardfraud.channels.simulation", "purchase flow through the channels: stage counts and intervals"),
    "score": ("cardfraud.serving.score_command", "score new transactions with the registered champion"),
    "history-features": ("cardfraud.serving.history_command",
                         "card-history features of new purchases, for a REST request"),
    "drift": ("cardfraud.monitoring.status", "compare a new extract with the training data"),
}


def usage() -> str:
    """Return the list of commands."""
    lines = ["usage: python -m cardfraud <command> [options]", "", "commands:"]
    lines += [f"  {name:<16} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "python -m cardfraud <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the stage module's ``cli`` function."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in {"-h", "--help"}:
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.cli(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
