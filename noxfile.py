"""Nox sessions: tests and benchmarks on GIL and free-threaded CPython.

    nox -s tests                 tests-gil on each CPython 3.11-3.13 found, then tests-nogil
    nox -s perf-gil perf-nogil   the performance suite on both builds
    nox -s lint                  ruff and mypy

The free-threaded sessions run ``tools/provision_python.py`` when they start
(never when this file is imported), which finds or builds a free-threaded
CPython, and create their virtual environment under ``.nox/`` with it. Nox
cannot create those environments itself because the interpreter's path is
known only once provisioning has run. The GIL sessions also find CPython
versions that pyenv installed but did not select (see expose_pyenv_versions).
Arguments after ``--`` go to pytest or to ``python -m perf``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PROVISION_SCRIPT = ROOT / "tools" / "provision_python.py"
GIL_PYTHONS = ["3.11", "3.12", "3.13"]
# The GIL side of the performance comparison uses the same minor version as
# the free-threaded build so that the two differ only in the GIL.
PERF_GIL_PYTHON = "3.13"
DEFAULT_PYTEST_ARGS = ["-n", "auto"]
# Provisioning may build CPython from source. The script bounds each of its
# own steps, and this bounds the whole.
PROVISION_TIMEOUT = 3 * 60 * 60



def expose_pyenv_versions() -> None:
    """Make every pyenv-installed CPython of GIL_PYTHONS visible to nox.

    pyenv's shims run only the selected versions, and nox finds pyenv
    interpreters through them, so an installed but unselected 3.12 would be
    skipped as missing. This appends the newest installed patch release of
    each missing minor version to the selection, for this nox process only.
    The selection is PYENV_VERSION when set (a pyenv shim that started nox
    sets it to the global version) or else ``pyenv version-name``; it stays
    first, so ``python3`` keeps its meaning.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    try:
        completed = subprocess.run(
            [pyenv, "version-name"], capture_output=True, text=True, timeout=30
        )
        root = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return
    selected = os.environ.get("PYENV_VERSION") or completed.stdout.strip()
    versions = Path(root) / "versions"
    if completed.returncode != 0 or not selected or not versions.is_dir():
        return

    chosen = selected.split(":")
    for minor in GIL_PYTHONS:
        if any(name == minor or name.startswith(f"{minor}.") for name in chosen):
            continue
        pattern = re.compile(rf"{re.escape(minor)}\.(\d+)")
        patches = [
            (int(match.group(1)), folder.name)
            for folder in versions.iterdir()
            if (match := pattern.fullmatch(folder.name))
        ]
        if patches:
            chosen.append(max(patches)[1])
    os.environ["PYENV_VERSION"] = ":".join(chosen)


expose_pyenv_versions()

nox.options.sessions = ["tests"]
# A missing CPython minor version skips its session instead of failing the run.
nox.options.error_on_missing_interpreters = False
# Interpreters come from this machine or from tools/provision_python.py only.
nox.options.download_python = "never"


def pytest_arguments(session: nox.Session) -> list[str]:
    return list(session.posargs) or DEFAULT_PYTEST_ARGS


def require_perf_suite(session: nox.Session) -> None:
    if not (ROOT / "perf" / "__main__.py").is_file():
        session.error(
            "perf/__main__.py not found: this checkout has no performance suite "
            "to run (python -m perf)"
        )


def provision_freethreaded_python(session: nox.Session) -> str:
    """Return the path of a free-threaded CPython, building it on first use.

    The script's progress goes straight to this terminal; only its stdout,
    whose last line is the path, is captured.
    """
    session.log(f"provisioning a free-threaded CPython with {PROVISION_SCRIPT.name}")
    try:
        completed = subprocess.run(
            [sys.executable, str(PROVISION_SCRIPT)],
            stdout=subprocess.PIPE,
            text=True,
            timeout=PROVISION_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        session.error(f"{PROVISION_SCRIPT.name} timed out after {PROVISION_TIMEOUT} s")
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        session.error(
            f"{PROVISION_SCRIPT.name} failed (exit {completed.returncode}); "
            "its message is above"
        )
    return lines[-1]


def find_gil_python(session: nox.Session, minor: str) -> str:
    """Return the path of a GIL build of CPython ``minor``, or fail the session.

    The performance comparison needs it: a missing interpreter must stop the
    main job with an error, not skip half of it.
    """
    candidate = shutil.which(f"python{minor}")
    if candidate is not None:
        probe = subprocess.run(
            [candidate, "-c",
             "import sys, sysconfig; "
             "print('%d.%d' % sys.version_info[:2], sysconfig.get_config_var('Py_GIL_DISABLED') or 0)"],
            capture_output=True, text=True, timeout=60,
        )
        if probe.returncode == 0 and probe.stdout.split() == [minor, "0"]:
            return candidate
    session.error(
        f"no GIL build of CPython {minor} found (python{minor} on PATH, pyenv "
        f"versions included); install it, for example with 'pyenv install {minor}', "
        "because the performance suite compares it with the free-threaded build"
    )
    raise AssertionError("unreachable")  # session.error raises


class ManagedEnv:
    """A virtual environment under .nox/ made with a given interpreter.

    Nox treats these sessions as ``python=False``, so this class does what
    nox's own environments do: recreate the folder on every run and put its
    ``bin`` first on PATH for the commands it runs. ``PYTHON_GIL`` is set to
    0 for the free-threaded build.
    """

    def __init__(self, session: nox.Session, freethreaded: bool = True) -> None:
        self.session = session
        self.freethreaded = freethreaded
        self.location = ROOT / ".nox" / session.name
        self.bin = self.location / ("Scripts" if os.name == "nt" else "bin")
        self.env = {
            "VIRTUAL_ENV": str(self.location),
            "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", "")]),
        }
        if freethreaded:
            self.env["PYTHON_GIL"] = "0"

    def create(self) -> None:
        if self.freethreaded:
            python = provision_freethreaded_python(self.session)
        else:
            python = find_gil_python(self.session, PERF_GIL_PYTHON)
        self.session.run(
            python, "-m", "venv", "--clear", str(self.location),
            external=True, env=self.env,
        )

    def install(self, *requirements: str) -> None:
        # For cp313t some packages have wheels only in older releases, and
        # their newest release is an sdist that needs a Rust toolchain and
        # Rust's crate registry. Seen with hypothesis 6.170.27, whose newest
        # cp313t wheel is 6.155.7. --prefer-binary takes that wheel instead.
        self.run("python", "-m", "pip", "install", "--prefer-binary", *requirements)

    def run(self, program: str, *arguments: str) -> None:
        self.session.run(
            str(self.bin / program), *arguments, external=True, env=self.env
        )


@nox.session(name="tests-gil", python=GIL_PYTHONS)
def tests_gil(session: nox.Session) -> None:
    """Run the tests on a GIL build of CPython."""
    session.install(".[test]")
    session.run("pytest", *pytest_arguments(session))


@nox.session(name="tests-nogil", python=False)
def tests_nogil(session: nox.Session) -> None:
    """Run the tests on the free-threaded build with PYTHON_GIL=0."""
    environment = ManagedEnv(session)
    environment.create()
    environment.install(".[test]")
    environment.run("pytest", *pytest_arguments(session))


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run tests-gil on every CPython found, then tests-nogil."""
    for version in GIL_PYTHONS:
        session.notify(f"tests-gil-{version}")
    session.notify("tests-nogil")


@nox.session(name="perf-gil", python=False)
def perf_gil(session: nox.Session) -> None:
    """Run the performance suite on the GIL build (python -m perf --build gil)."""
    require_perf_suite(session)
    environment = ManagedEnv(session, freethreaded=False)
    environment.create()
    environment.install(".[perf]")
    environment.run("python", "-m", "perf", "--build", "gil", *session.posargs)


@nox.session(name="perf-nogil", python=False)
def perf_nogil(session: nox.Session) -> None:
    """Run the performance suite on the free-threaded build with PYTHON_GIL=0."""
    require_perf_suite(session)
    environment = ManagedEnv(session)
    environment.create()
    environment.install(".[perf]")
    environment.run("python", "-m", "perf", "--build", "nogil", *session.posargs)


@nox.session(python=False)
def perf(session: nox.Session) -> None:
    """Run perf-gil, then perf-nogil."""
    session.notify("perf-gil")
    session.notify("perf-nogil")


@nox.session(name="perf-peers", python=PERF_GIL_PYTHON)
def perf_peers(session: nox.Session) -> None:
    """Time statechartx against transitions, python-statemachine and sismic."""
    require_perf_suite(session)
    session.install(".[perf]", "transitions", "python-statemachine", "sismic")
    session.run("python", "-m", "perf.peers", *session.posargs)


@nox.session(python=False)
def dashboard(session: nox.Session) -> None:
    """Build perf/results/dashboard.html from every run under perf/results."""
    require_perf_suite(session)
    results = ROOT / "perf" / "results"
    session.run(
        sys.executable, "-m", "perf.dashboard",
        "--results", str(results), "--out", str(results / "dashboard.html"),
        *session.posargs, external=True,
    )


@nox.session(python=PERF_GIL_PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff and types with mypy (strict, statechartx only)."""
    session.install("ruff", "mypy")
    session.run("ruff", "check", "statechartx", "tests", "tools", "noxfile.py")
    session.run("mypy")
