"""Description of the interpreter and machine of a run, recorded with every figure."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from typing import Any

__all__ = ["describe", "gil_enabled", "freethreaded_build", "cpu_model", "build_label"]


def freethreaded_build() -> bool:
    """Return True on a free-threaded (``--disable-gil``) CPython build."""
    return sysconfig.get_config_var("Py_GIL_DISABLED") == 1


def gil_enabled() -> bool:
    """Return whether the GIL is enabled now (always True before 3.13)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def build_label() -> str:
    """``nogil`` when this interpreter runs without the GIL, else ``gil``."""
    return "nogil" if freethreaded_build() and not gil_enabled() else "gil"


def cpu_model() -> str:
    """Return the processor's model name from /proc/cpuinfo, or platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total_mb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def describe() -> dict[str, Any]:
    """Describe the interpreter (version, build, GIL state) and the machine."""
    return {
        "python_version": platform.python_version(),
        "python_full_version": sys.version.replace("\n", " "),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "py_gil_disabled": sysconfig.get_config_var("Py_GIL_DISABLED"),
        "freethreaded_build": freethreaded_build(),
        "gil_enabled": gil_enabled(),
        "python_gil_env": os.environ.get("PYTHON_GIL"),
        "cpu_count": os.cpu_count(),
        "process_cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "memory_total_mb": _memory_total_mb(),
        # Other processes on the machine disturb every timing, so the load
        # average at the start of the run is recorded with the figures.
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
