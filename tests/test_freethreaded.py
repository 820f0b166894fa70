"""Free-threaded CPython: parallel interpreters, and the provisioning script.

The parallelism test prints its speed-up but does not assert it: wall-clock
ratios depend on the machine and on what else runs (pytest-xdist workers
included). Run it alone for a figure worth recording:

    nox -s tests-nogil -- -s -p no:xdist -k parallel
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from statechartx import ActionContext, Interpreter, Machine, State, Transition

PROVISION_SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "provision_python.py"

EVENTS_PER_THREAD = 100_000
# Each configuration runs this many times and keeps its fastest run, the
# usual way to filter out interference from other processes.
REPEATS = 3
# Pure-Python arithmetic per transition, so that each event costs enough
# bytecode for the interpreters' parallelism (or its absence) to show.
WORK_PER_EVENT = 50
JOIN_TIMEOUT = 90.0
SCRIPT_TIMEOUT = 60.0


def parallel_thread_count() -> int:
    """Return one thread per available core, between 2 and 4."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 2
    return max(2, min(cores, 4))


def count_transition(ctx: ActionContext) -> None:
    total = 0
    for number in range(WORK_PER_EVENT):
        total += number * number
    ctx.data["transitions"] += 1


def make_toggle_machine() -> Machine:
    """Return a two-state machine whose every "go" toggles a <-> b and counts."""
    return Machine(
        State(
            "root",
            children=[
                State("a", transitions=[Transition(event="go", target="b", action=count_transition)]),
                State("b", transitions=[Transition(event="go", target="a", action=count_transition)]),
            ],
        )
    )


def drive(interpreter: Interpreter, events: int) -> None:
    for _ in range(events):
        interpreter.send("go")


def run_in_threads(
    machine: Machine, thread_count: int, events: int
) -> tuple[float, list[Interpreter]]:
    """Drive one started interpreter per thread; return the wall time and them.

    Every interpreter runs the one shared, immutable *machine* with a
    datamodel of its own. Interpreters are built and started before the
    clock starts, and a barrier releases the driver threads and the timing
    thread together.
    """
    interpreters = [
        Interpreter(machine, data={"transitions": 0}) for _ in range(thread_count)
    ]
    for interpreter in interpreters:
        interpreter.start()

    barrier = threading.Barrier(thread_count + 1)
    errors: list[BaseException] = []

    def worker(interpreter: Interpreter) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            drive(interpreter, events)
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(interpreter,), name=f"driver-{index}")
        for index, interpreter in enumerate(interpreters)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=JOIN_TIMEOUT)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    elapsed = time.perf_counter() - started

    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"driver threads still running after {JOIN_TIMEOUT} s: {stuck}"
    if errors:
        raise errors[0]
    return elapsed, interpreters


@pytest.mark.freethreaded_only
def test_parallel_interpreters_scale() -> None:
    assert sys._is_gil_enabled() is False, "run with PYTHON_GIL=0"
    machine = make_toggle_machine()
    thread_count = parallel_thread_count()
    run_in_threads(machine, thread_count, events=500)  # warm-up

    single_times = []
    parallel_times = []
    for _ in range(REPEATS):
        elapsed, _ = run_in_threads(machine, 1, EVENTS_PER_THREAD)
        single_times.append(elapsed)
        elapsed, interpreters = run_in_threads(machine, thread_count, EVENTS_PER_THREAD)
        parallel_times.append(elapsed)

        assert sys._is_gil_enabled() is False
        for index, interpreter in enumerate(interpreters):
            assert interpreter.data["transitions"] == EVENTS_PER_THREAD, f"interpreter {index}"
            # An even number of toggles ends where it started.
            assert interpreter.is_in("a"), f"interpreter {index}: {interpreter.configuration}"
            assert not interpreter.is_in("b"), f"interpreter {index}"

    single_time = min(single_times)
    parallel_time = min(parallel_times)

    speedup = thread_count * single_time / parallel_time
    print(
        f"\n{thread_count} threads x {EVENTS_PER_THREAD} events, own interpreter each, "
        f"best of {REPEATS}: "
        f"1 thread {single_time:.3f} s, {thread_count} threads {parallel_time:.3f} s, "
        f"speed-up {speedup:.2f}x of an ideal {thread_count}x "
        f"({sys.version.split()[0]}, {sysconfig.get_platform()})"
    )


def run_provision_script(
    tmp_path: Path, interpreter: str
) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        STATECHARTX_FREETHREADED_PYTHON=interpreter,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    return subprocess.run(
        [sys.executable, str(PROVISION_SCRIPT), "--no-build"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )


def test_provision_rejects_missing_interpreter(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-python3.13t")
    completed = run_provision_script(tmp_path, missing)

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "STATECHARTX_FREETHREADED_PYTHON" in completed.stderr
    assert missing in completed.stderr
    assert "not found" in completed.stderr


@pytest.mark.skipif(
    sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
    reason="needs a GIL build to stand in for the wrong interpreter",
)
def test_provision_rejects_gil_interpreter(tmp_path: Path) -> None:
    completed = run_provision_script(tmp_path, sys.executable)

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "STATECHARTX_FREETHREADED_PYTHON" in completed.stderr
    assert sys.executable in completed.stderr
    assert "GIL build" in completed.stderr


@pytest.mark.freethreaded_only
def test_provision_accepts_freethreaded_interpreter(tmp_path: Path) -> None:
    completed = run_provision_script(tmp_path, sys.executable)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == sys.executable
