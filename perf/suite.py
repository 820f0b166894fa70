"""What every part of the suite receives: options, output folder, progress."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .isolate import Outcome, run_isolated

__all__ = ["RunContext", "runtime_available", "RUNTIME_MISSING"]

RUNTIME_MISSING = "skipped: statechartx.runtime not available"


def runtime_available() -> tuple[bool, str]:
    """Return whether ``import statechartx.runtime`` and the actors work, and why not."""
    try:
        import statechartx.actors  # noqa: F401, PLC0415
        import statechartx.runtime  # noqa: F401, PLC0415
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return False, f"{RUNTIME_MISSING} ({type(exc).__name__}: {exc})"
    return True, ""


@dataclass
class RunContext:
    """Options of one suite run and the folder it writes to."""

    build: str
    quick: bool
    out_dir: Path
    started: float = field(default_factory=time.perf_counter)
    part: str = ""

    @property
    def raw_dir(self) -> Path:
        """Folder for raw files: pyperf JSON, cProfile dumps."""
        path = self.out_dir / "raw"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pick(self, full: Any, quick: Any) -> Any:
        """The full-mode value, or the reduced one under ``--quick``."""
        return quick if self.quick else full

    def progress(self, message: str) -> None:
        """Print one progress line on stderr with the elapsed time."""
        elapsed = time.perf_counter() - self.started
        print(f"[perf {elapsed:7.1f}s] {self.part}: {message}", file=sys.stderr, flush=True)

    def isolated(
        self, label: str, target: str, kwargs: dict[str, Any], *, timeout: float, memory_mb: float
    ) -> Outcome:
        """Run ``target`` in a child (see ``perf.isolate``) and report progress."""
        self.progress(f"{label} ...")
        outcome = run_isolated(target, kwargs, timeout=timeout, memory_mb=memory_mb)
        detail = "ok" if outcome.ok else f"{outcome.status}: {outcome.error}"
        self.progress(
            f"{label} {detail} in {outcome.elapsed_s:.1f} s, peak RSS {outcome.peak_rss_mb:.0f} MiB"
        )
        return outcome
