"""Run one measurement in a child interpreter with a time and memory limit.

A measurement that runs out of memory, recurses too deep, hangs or crashes
the interpreter must not take the suite down with it. ``run_isolated``
starts ``python -m perf.isolate MODULE:FUNCTION`` with JSON keyword
arguments, watches the child's resident set size through ``/proc`` and kills
it past the limit or the timeout. The child writes the function's return
value (a JSON-serialisable dict) to a file named by the parent, so output on
stdout or stderr never corrupts the result.

The outcome's ``status`` is one of:

- ``ok``: the function returned; ``result`` holds its dict.
- ``error``: it raised; ``error`` names the exception (``MemoryError`` and
  ``RecursionError`` included, which the breaking-point search reports as
  failure modes).
- ``timeout``: still running after ``timeout`` seconds.
- ``memory-limit``: its resident set grew past ``memory_mb``.
- ``crash``: the child died from a signal or exited without a result.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Outcome", "run_isolated", "ROOT", "rss_mb", "peak_rss_mb"]

# The repository root: children run with it as working directory so that
# ``python -m perf...`` imports this package without installing it.
ROOT = Path(__file__).resolve().parent.parent

# How often the parent samples the child's resident set size.
_POLL_SECONDS = 0.05


@dataclass
class Outcome:
    """What one isolated run returned or how it failed."""

    status: str
    elapsed_s: float
    peak_rss_mb: float
    result: dict[str, Any] | None = None
    error: str | None = None
    stderr_tail: str = ""
    limits: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process in MiB (0.0 when it cannot be read)."""
    path = f"/proc/{pid if pid is not None else 'self'}/status"
    try:
        with open(path, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_isolated(
    target: str,
    kwargs: dict[str, Any] | None = None,
    *,
    timeout: float,
    memory_mb: float,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Call ``target`` ("package.module:function") in a child interpreter.

    ``timeout`` is in seconds and ``memory_mb`` bounds the child's resident
    set size in MiB. ``env`` adds variables to the child's environment; the
    child always inherits this process's interpreter and PYTHON_GIL setting.
    """
    with tempfile.TemporaryDirectory(prefix="perf-isolate-") as scratch:
        result_path = Path(scratch) / "result.json"
        stderr_path = Path(scratch) / "stderr.txt"
        child_env = dict(os.environ)
        child_env.update(env or {})
        command = [
            sys.executable, "-m", "perf.isolate", target,
            json.dumps(kwargs or {}), str(result_path),
        ]
        started = time.perf_counter()
        peak = 0.0
        status = ""
        with open(stderr_path, "wb") as stderr_file:
            child = subprocess.Popen(
                command, cwd=ROOT, env=child_env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr_file,
            )
            try:
                while child.poll() is None:
                    peak = max(peak, rss_mb(child.pid))
                    if peak > memory_mb:
                        status = "memory-limit"
                        break
                    if time.perf_counter() - started > timeout:
                        status = "timeout"
                        break
                    try:
                        child.wait(_POLL_SECONDS)
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait(30)
        elapsed = time.perf_counter() - started
        stderr_tail = _tail(stderr_path)
        limits = {"timeout_s": timeout, "memory_mb": memory_mb}

        if status:
            limit = f"{timeout:g} s" if status == "timeout" else f"{memory_mb:g} MiB RSS"
            return Outcome(status, elapsed, peak, None, f"{status} ({limit})", stderr_tail, limits)
        try:
            payload = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            code = child.returncode
            reason = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            return Outcome("crash", elapsed, peak, None, f"child {reason} without a result", stderr_tail, limits)
        peak = max(peak, float(payload.get("peak_rss_mb", 0.0)))
        if payload["status"] == "ok":
            return Outcome("ok", elapsed, peak, payload["result"], None, stderr_tail, limits)
        return Outcome("error", elapsed, peak, None, payload["error"], stderr_tail, limits)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _child_main(argv: list[str]) -> int:
    target, raw_kwargs, result_path = argv
    module_name, _, function_name = target.partition(":")
    payload: dict[str, Any]
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        result = function(**json.loads(raw_kwargs))
        payload = {"status": "ok", "result": result}
    except BaseException as exc:  # noqa: BLE001 - every failure is a measured outcome
        # MemoryError may leave too little memory to format a traceback, so
        # the short form comes first.
        payload = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000]}
        try:
            traceback.print_exc()
        except MemoryError:
            pass
    payload["peak_rss_mb"] = peak_rss_mb()
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(payload, out)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
