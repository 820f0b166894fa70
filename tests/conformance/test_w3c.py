"""The W3C SCXML 1.0 conformance tests (Python datamodel edition).

Every ``testNNN.scxml`` in the test folder runs in each mode; documents that
tests load (``testNNNsub1.scxml``, ``test403a.scxml`` ...) are not tests. A
test passes when the state ``pass`` is in the configuration after the
machine has run until it finished, until no delayed event is pending, or
until the bounds below. Reaching ``fail``, raising or running out of bounds
fails.

The folder comes from ``STATECHARTX_W3C_DIR``, else ``scxml-w3c/mandatory``
next to the repository (``../shared/scxml-w3c/mandatory`` from its root);
without it every test is skipped with that reason.

Modes:

- ``sync``: ``SyncSessions`` on the calling thread, delayed events on its
  virtual clock, advanced until the machine finishes.
- ``runtime`` and ``runtime-concurrent``: ``RuntimeSessions``, each session
  in its own ``Runtime`` under one supervisor, with sequential regions, then
  with every parallel state's regions in region actors. Delayed events wait
  on real time, so these modes take a few seconds per test that uses them.
  The run ends when the top session has ended (it waits on the session's
  actor with a timeout, no polling); afterwards the supervisor's leak check
  must find no thread, actor or queued message left behind.

The documents were converted from the ECMAScript originals; some still
declare ``datamodel="ecmascript"`` or ``"c89"`` while their expressions are
Python, so they are loaded with ``datamodel="python"``. Several tests check
that an invalid expression raises ``error.execution`` when evaluated, so
they are loaded with ``defer_syntax_errors=True``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from statechartx.actors import Supervisor
from statechartx.scxml import SyncSessions, load
from statechartx.scxml.runtime_sessions import RuntimeSessions

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPOSITORY.parent / "shared" / "scxml-w3c" / "mandatory"
W3C_DIR = Path(os.environ.get("STATECHARTX_W3C_DIR", DEFAULT_DIR))

# Bounds of one run: delayed-event jumps of the virtual clock, and wall time.
MAX_ADVANCES = 1000
MAX_SECONDS = 5.0
# Wall time for a threaded run to end. The longest delay in the documents is
# a few seconds; the margin covers slow free-threaded runs on two cores.
RUNTIME_SECONDS = 15.0

MODES = ("sync", "runtime", "runtime-concurrent")

#: Tests that cannot pass in any mode, with the reason. Strict: one that
#: starts passing fails the run, so this list stays true.
XFAIL = {
    "test240": (
        "the second inline child document has a transition to 'subFinal1', "
        "which is not one of its states; the reader rejects the document "
        "with ScxmlError"
    ),
}


def _test_files() -> list[Path]:
    if not W3C_DIR.is_dir():
        return []
    return sorted(
        (p for p in W3C_DIR.iterdir() if re.fullmatch(r"test\d+\.scxml", p.name)),
        key=lambda p: int(p.stem[4:]),
    )


#: Tests that cannot pass in one mode only: {mode: {test: reason}}.
XFAIL_BY_MODE: dict[str, dict[str, str]] = {}


def _xfail_reason(stem: str, mode: str) -> str | None:
    return XFAIL.get(stem) or XFAIL_BY_MODE.get(mode, {}).get(stem)


def _params() -> list[object]:
    files = _test_files()
    if not files:
        return [
            pytest.param(
                None,
                "sync",
                marks=pytest.mark.skip(
                    reason=f"W3C test folder not found at {W3C_DIR}; set "
                    "STATECHARTX_W3C_DIR to the folder of testNNN.scxml files"
                ),
                id="w3c-folder-missing",
            )
        ]
    params = []
    for mode in MODES:
        for path in files:
            marks = []
            reason = _xfail_reason(path.stem, mode)
            if reason is not None:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            params.append(pytest.param(path, mode, marks=marks, id=f"{mode}-{path.stem}"))
    return params


def run_sync(path: Path) -> frozenset[str]:
    """Run one test document in SyncSessions; return the final configuration."""
    machine = load(path, allow_python=True, datamodel="python", defer_syntax_errors=True)
    sessions = SyncSessions()
    interp = sessions.start(machine)
    deadline = time.monotonic() + MAX_SECONDS
    for _ in range(MAX_ADVANCES):
        if not interp.running or time.monotonic() > deadline:
            break
        if not sessions.advance():
            break
    configuration = interp.configuration
    sessions.stop()
    return configuration


def run_runtime(path: Path, concurrent_regions: bool) -> frozenset[str]:
    """Run one test document in RuntimeSessions; return the final configuration.

    Raises ``LeakError`` (from the supervisor) or fails an assertion when a
    thread, an actor or a queued message outlives the run, and
    ``TimeoutError`` when the top session has not ended within
    ``RUNTIME_SECONDS``.
    """
    machine = load(path, allow_python=True, datamodel="python", defer_syntax_errors=True)
    threads_before = set(threading.enumerate())
    with Supervisor(f"w3c-{path.stem}") as supervisor:
        sessions = RuntimeSessions(supervisor, concurrent_regions=concurrent_regions)
        try:
            runtime = sessions.start(machine, wait=False)
            ended = sessions.wait(runtime, RUNTIME_SECONDS)
            configuration = runtime.configuration
        finally:
            sessions.stop()
    left = [t.name for t in threading.enumerate() if t not in threads_before]
    assert not left, f"{path.name} left threads running: {left}"
    if not ended:
        raise TimeoutError(
            f"{path.name} did not end within {RUNTIME_SECONDS} s; it was in "
            f"{sorted(configuration)}"
        )
    return configuration


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("path", "mode"), _params())
def test_w3c(path: Path, mode: str) -> None:
    if mode == "sync":
        configuration = run_sync(path)
    else:
        configuration = run_runtime(path, concurrent_regions=mode == "runtime-concurrent")
    assert "pass" in configuration, f"{path.name} ended in {sorted(configuration)}"
