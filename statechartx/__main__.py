"""Command line of statechartx: ``python -m statechartx COMMAND ...``.

Each subcommand is one ``add_<name>_command(subparsers)`` function that
declares its arguments and sets ``handler``, a function taking the parsed
arguments and returning the exit status. Add a subcommand by writing such a
function and listing it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main", "COMMANDS"]


def _load(args: argparse.Namespace) -> Any:
    from .scxml import load

    return load(args.file, allow_python=args.allow_python, datamodel=args.datamodel)


def _add_document_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="path of the SCXML document")
    parser.add_argument(
        "--allow-python",
        action="store_true",
        help='accept a document with datamodel="python"; its expressions are '
        "compiled to check them but not run",
    )
    parser.add_argument(
        "--datamodel",
        choices=("python", "null"),
        help="read the document with this datamodel instead of the one it declares",
    )


def _report_error(error: Exception) -> int:
    message = str(error)
    if "allow_python=True" in message:
        message += " (on the command line: --allow-python)"
    print(f"error: {message}", file=sys.stderr)
    return 1


def run_validate(args: argparse.Namespace) -> int:
    """Load a document (parse, check, compile expressions) and summarise it."""
    from .errors import ChartError
    from .machine import COMPOUND, FINAL, HISTORY, PARALLEL

    try:
        machine = _load(args)
    except ChartError as error:
        return _report_error(error)
    kinds = [machine.kind[s] for s in range(1, len(machine.ids))]
    datamodel = getattr(machine.datamodel, "scxml_datamodel", "null")
    print(
        f"{args.file}: valid SCXML, {machine.size} states "
        f"({kinds.count(COMPOUND)} compound, {kinds.count(PARALLEL)} parallel, "
        f"{kinds.count(FINAL)} final, {kinds.count(HISTORY)} history), "
        f"{machine.transition_count} transitions, datamodel {datamodel}"
    )
    return 0


def add_validate_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an SCXML document",
        description="Parse and check an SCXML document and compile its expressions "
        "without running them. Exit status 0 with a one-line summary, or 1 with "
        "the error (file, line, element and fix).",
    )
    _add_document_arguments(parser)
    parser.set_defaults(handler=run_validate)


def run_render(args: argparse.Namespace) -> int:
    """Print a diagram of a document's chart."""
    from .errors import ChartError
    from .scxml.render import to_dot, to_mermaid

    try:
        machine = _load(args)
    except ChartError as error:
        return _report_error(error)
    text = to_mermaid(machine) if args.format == "mermaid" else to_dot(machine)
    sys.stdout.write(text)
    return 0


def add_render_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print a state diagram of an SCXML document",
        description="Print the chart of an SCXML document as a Mermaid "
        "stateDiagram-v2 or a Graphviz dot graph.",
    )
    _add_document_arguments(parser)
    parser.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="diagram language (default: mermaid)",
    )
    parser.set_defaults(handler=run_render)


def run_trace(args: argparse.Namespace) -> int:
    """Run a named scenario under viztracer and write the trace file."""
    from .scenarios import SCENARIOS
    from .tracing import Tracing, summarize

    try:
        with Tracing(args.output):
            SCENARIOS[args.scenario]()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} (open it in https://ui.perfetto.dev or with vizviewer)")
    _print_summary(summarize(args.output))
    return 0


def _print_summary(rows: list[dict[str, Any]]) -> None:
    from .tracing import format_summary

    print(format_summary(rows))


def add_trace_command(subparsers: Any) -> None:
    from .scenarios import SCENARIOS

    parser = subparsers.add_parser(
        "trace",
        help="record a viztracer timeline of a concurrent scenario",
        description="Run a built-in scenario with viztracer and write a trace "
        "(trace-event JSON, opens in Perfetto) with one named track per actor "
        "thread, a span per macrostep and wait spans; then print busy and wait "
        "time per thread. Needs viztracer (pip install statechartx[perf]).",
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS), help="scenario to run")
    parser.add_argument("-o", "--output", default="trace.json", help="trace file to write")
    parser.set_defaults(handler=run_trace)


def run_trace_summary(args: argparse.Namespace) -> int:
    """Print busy time, wait time and the longest waits per thread of a trace."""
    from .tracing import summarize

    try:
        rows = summarize(args.trace)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: cannot read trace {args.trace!r}: {error}", file=sys.stderr)
        return 1
    _print_summary(rows)
    return 0


def add_trace_summary_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trace-summary",
        help="summarise a trace written by the trace command",
        description="Print, per thread, busy time (macrosteps and region tasks), "
        "wait time (wait:* spans) and the three longest waits, in milliseconds.",
    )
    parser.add_argument("trace", help="trace file (JSON)")
    parser.set_defaults(handler=run_trace_summary)


def run_bench(args: argparse.Namespace) -> int:
    """Print quick single-run figures; the perf suite measures properly."""
    import time

    from .interpreter import Interpreter
    from .runtime import Runtime
    from .scenarios import ping_pong_machine

    machine = ping_pong_machine()
    interp = Interpreter(machine)
    interp.start()
    count = args.events
    send = interp.send
    started = time.perf_counter()
    for _ in range(count):
        send("go")
    elapsed = time.perf_counter() - started
    print(f"Interpreter.send ping-pong: {elapsed / count * 1e9:.0f} ns per event")
    with Runtime(machine, name="bench") as rt:
        started = time.perf_counter()
        for _ in range(count):
            rt.send("go")
        sent = time.perf_counter() - started
        rt.wait_idle(60.0)
        total = time.perf_counter() - started
    print(f"Runtime.send: {sent / count * 1e9:.0f} ns per call")
    print(f"producer thread to runtime thread: {count / total:,.0f} events/s")
    print("(one run, no warm-up; nox -s perf-gil perf-nogil measures with pyperf)")
    return 0


def add_bench_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="print quick figures for this interpreter",
        description="Time the ping-pong transition and the runtime's send and "
        "throughput once. For medians, use the performance suite.",
    )
    parser.add_argument(
        "--events", type=int, default=200_000, help="events per measurement (default 200000)"
    )
    parser.set_defaults(handler=run_bench)


COMMANDS: list[Callable[[Any], None]] = [
    add_validate_command,
    add_render_command,
    add_trace_command,
    add_trace_summary_command,
    add_bench_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m statechartx",
        description="statechartx command line tools.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
