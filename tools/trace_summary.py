#!/usr/bin/env python3
"""Print busy time, wait time and the longest waits per thread of a trace.

    python tools/trace_summary.py trace.json [--top N] [--json]

The trace is one written by ``python -m statechartx trace`` or by
``statechartx.tracing.Tracing``. Busy time is macrostep and region task
spans, wait time the ``wait:*`` spans (park, mailbox full, barrier, stop).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statechartx.tracing import format_summary, summarize  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", help="trace file (trace-event JSON)")
    parser.add_argument("--top", type=int, default=3, help="longest waits to list per thread (default 3)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        rows = summarize(args.trace, top=args.top)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: cannot read trace {args.trace!r}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(format_summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
