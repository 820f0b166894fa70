"""Find or build a free-threaded CPython (3.13t or newer) for statechartx.

Run it with any ``python3`` 3.11 or newer; it uses the standard library only.
On success the last line on stdout is the path of a verified free-threaded
interpreter. Progress and errors go to stderr, and failures exit with status 1.

Search order (the first verified interpreter wins):

1. ``$STATECHARTX_FREETHREADED_PYTHON``, a path or a command name. When it is
   set but missing or not free-threaded, the script fails instead of looking
   further, so a typo never selects another interpreter.
2. ``python3.13t`` or ``python3.14t`` on ``PATH``.
3. The cached build in ``$XDG_CACHE_HOME/statechartx/cpython-3.13t``
   (``~/.cache`` when ``XDG_CACHE_HOME`` is unset).
4. ``uv python find 3.13t``, and ``$(pyenv root)/versions/*t*``.
5. A build from source into that cache (skipped with ``--no-build``).

The build takes the upstream CPython 3.13 source tarball that Debian
publishes as the ``orig`` tarball of its ``python3.13`` source package in the
``trixie`` suite. It is downloaded with ``apt-get source --download-only``
through a private apt configuration that points at the mirror the machine's
apt already uses, so the machine's apt configuration is never modified and
apt checks the tarball against the signed source index. Debian's own patches
are not applied. The build runs ``./configure --disable-gil``, ``make`` and
``make install DESTDIR=...`` into a staging folder, verifies the staged
interpreter, and renames it into the cache, so an interrupted build never
leaves a half-built interpreter behind. A lock file serialises concurrent
callers, and the full build output is kept in
``$XDG_CACHE_HOME/statechartx/cpython-3.13t-build.log``.

A returned interpreter always satisfies both checks:
``sysconfig.get_config_var("Py_GIL_DISABLED") == 1`` and, with
``PYTHON_GIL=0`` in its environment, ``sys._is_gil_enabled()`` is False.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TextIO

ENV_VAR = "STATECHARTX_FREETHREADED_PYTHON"
MINIMUM_VERSION = (3, 13)
PATH_NAMES = ("python3.13t", "python3.14t")
CACHE_NAME = "cpython-3.13t"
CACHED_EXECUTABLE = Path("bin") / "python3.13t"

# Debian's trixie suite carries the CPython 3.13 source package; its orig
# tarball is the upstream release (3.13.5 when this script was written).
SOURCE_PACKAGE = "python3.13"
SOURCE_SUITE = "trixie"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")

# Debian packages that the CPython build needs: the compiler, make and
# pkg-config, xz to unpack, and the headers of the extension modules that pip
# and the test tools use (ssl, zlib, ctypes, bz2, lzma, sqlite3, readline,
# uuid, dbm.gnu).
BUILD_DEPENDENCIES = (
    "gcc",
    "make",
    "pkg-config",
    "libssl-dev",
    "zlib1g-dev",
    "libffi-dev",
    "libbz2-dev",
    "liblzma-dev",
    "libsqlite3-dev",
    "libreadline-dev",
    "uuid-dev",
    "libgdbm-dev",
    "xz-utils",
)

# Upper bounds for each external step: generous enough for a slow machine,
# finite so that a hung tool ends the run with an error naming the step.
PROBE_TIMEOUT = 60.0
APT_TIMEOUT = 30 * 60.0
CONFIGURE_TIMEOUT = 20 * 60.0
MAKE_TIMEOUT = 120 * 60.0
INSTALL_TIMEOUT = 30 * 60.0
LOCK_TIMEOUT = 180 * 60.0
PROGRESS_INTERVAL = 15.0

PROBE_SOURCE = """\
import json, sys, sysconfig
is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "executable": sys.executable,
    "version": list(sys.version_info[:3]),
    "gil_disabled_build": sysconfig.get_config_var("Py_GIL_DISABLED"),
    "gil_enabled": True if is_gil_enabled is None else is_gil_enabled(),
}))
"""


class ProvisionError(Exception):
    """A failure that ends the script with a message on stderr."""


@dataclass(frozen=True)
class Interpreter:
    """A verified free-threaded interpreter."""

    path: Path
    version: tuple[int, int, int]


# --------------------------------------------------------------------------
# Output


_verbose = False


def log(message: str) -> None:
    print(f"provision_python: {message}", file=sys.stderr, flush=True)


def debug(message: str) -> None:
    if _verbose:
        log(message)


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


# --------------------------------------------------------------------------
# Verification


def run_probe(path: Path, python_gil: str | None) -> dict[str, Any]:
    """Run PROBE_SOURCE with *path* and return its report.

    *python_gil* is the PYTHON_GIL value to run with, or None to run with it
    unset (a GIL build of 3.13 fails to start with PYTHON_GIL=0). Path
    overrides from this process's environment are dropped.
    """
    environment = dict(os.environ)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHON_GIL"):
        environment.pop(name, None)
    if python_gil is not None:
        environment["PYTHON_GIL"] = python_gil
    try:
        completed = subprocess.run(
            [str(path), "-c", PROBE_SOURCE],
            env=environment,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProvisionError(
            f"{path} timed out in a version probe after {PROBE_TIMEOUT:.0f} s"
        ) from None
    except OSError as error:
        raise ProvisionError(f"{path} could not be run: {error}") from None

    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        setting = "unset" if python_gil is None else python_gil
        raise ProvisionError(
            f"{path} failed a version probe with PYTHON_GIL {setting} "
            f"(exit {completed.returncode}): {detail[0]}"
        )
    try:
        report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise ProvisionError(
            f"{path} printed an unexpected probe result: {completed.stdout!r}"
        ) from None
    return report


def check_interpreter(path: Path) -> Interpreter:
    """Return *path* as an Interpreter if it is a working free-threaded build.

    Raises ProvisionError saying which check failed.
    """
    report = run_probe(path, python_gil=None)
    version = tuple(report["version"])
    if report["gil_disabled_build"] != 1:
        raise ProvisionError(
            f"{path} is a GIL build of Python {'.'.join(map(str, version))} "
            "(sysconfig Py_GIL_DISABLED is not 1); a free-threaded build, "
            "usually named python3.13t, is required"
        )
    if version[:2] < MINIMUM_VERSION:
        raise ProvisionError(
            f"{path} is Python {'.'.join(map(str, version))}; "
            f"free-threading needs {'.'.join(map(str, MINIMUM_VERSION))} or newer"
        )
    if run_probe(path, python_gil="0")["gil_enabled"]:
        raise ProvisionError(
            f"{path} is a free-threaded build but kept the GIL enabled with "
            "PYTHON_GIL=0; a module imported at startup (a .pth file or "
            "sitecustomize) may be re-enabling it"
        )
    return Interpreter(path=path, version=(version[0], version[1], version[2]))


# --------------------------------------------------------------------------
# Search


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "statechartx"


def cached_interpreter_path() -> Path:
    return cache_root() / CACHE_NAME / CACHED_EXECUTABLE


def interpreter_from_environment() -> Interpreter | None:
    """Return the interpreter that $STATECHARTX_FREETHREADED_PYTHON names.

    Returns None when the variable is unset or empty. Raises ProvisionError
    when it names something missing or unsuitable.
    """
    value = os.environ.get(ENV_VAR, "")
    if not value:
        return None
    resolved = shutil.which(value)
    if resolved is None:
        if Path(value).exists():
            raise ProvisionError(
                f"{ENV_VAR}={value} is not an executable file; "
                "point it at a free-threaded python3.13t or unset it"
            )
        raise ProvisionError(
            f"{ENV_VAR}={value} was not found; "
            "point it at a free-threaded python3.13t or unset it"
        )
    try:
        return check_interpreter(Path(resolved))
    except ProvisionError as error:
        raise ProvisionError(
            f"{ENV_VAR}={value} is not usable: {error}; "
            "point it at a free-threaded python3.13t or unset it"
        ) from None


def first_working(label: str, candidates: Sequence[Path]) -> Interpreter | None:
    """Return the first candidate that passes check_interpreter."""
    for candidate in candidates:
        try:
            interpreter = check_interpreter(candidate)
        except ProvisionError as error:
            debug(f"{label}: skipping {candidate}: {error}")
            continue
        debug(f"{label}: found {candidate}")
        return interpreter
    debug(f"{label}: nothing usable")
    return None


def path_candidates() -> list[Path]:
    found = (shutil.which(name) for name in PATH_NAMES)
    return [Path(path) for path in found if path]


def uv_candidates() -> list[Path]:
    uv = shutil.which("uv")
    if uv is None:
        return []
    environment = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    try:
        completed = subprocess.run(
            [uv, "python", "find", "3.13t"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        debug(f"uv: 'uv python find 3.13t' failed: {error}")
        return []
    if completed.returncode != 0 or not completed.stdout.strip():
        debug(f"uv: 'uv python find 3.13t' found nothing ({completed.returncode})")
        return []
    return [Path(completed.stdout.strip().splitlines()[-1])]


def pyenv_candidates() -> list[Path]:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return []
    try:
        completed = subprocess.run(
            [pyenv, "root"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        debug(f"pyenv: 'pyenv root' failed: {error}")
        return []
    root = completed.stdout.strip()
    if completed.returncode != 0 or not root:
        return []
    pattern = os.path.join(glob.escape(root), "versions", "*t*", "bin", "python3.*t")
    # Reverse name order puts 3.14t before 3.13t. Within one minor version it
    # is only approximate (3.13.10t sorts before 3.13.9t), which is harmless
    # because any candidate that passes the checks will do.
    return [Path(path) for path in sorted(glob.glob(pattern), reverse=True)]


def find_interpreter() -> Interpreter | None:
    """Search everything but a new build, in the documented order."""
    interpreter = interpreter_from_environment()
    if interpreter is not None:
        debug(f"using {ENV_VAR}")
        return interpreter

    interpreter = first_working("PATH", path_candidates())
    if interpreter is not None:
        return interpreter

    cached = cached_interpreter_path()
    if cached.exists():
        try:
            return check_interpreter(cached)
        except ProvisionError as error:
            log(f"the cached build is not usable and will be rebuilt: {error}")
    else:
        debug(f"cache: {cached} does not exist")

    interpreter = first_working("uv", uv_candidates())
    if interpreter is not None:
        return interpreter
    return first_working("pyenv", pyenv_candidates())


# --------------------------------------------------------------------------
# Running build steps


def run_logged(
    step: str,
    command: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float,
    hint: str = "",
    shown_command: str = "",
) -> None:
    """Run one build step, appending its output to *log_path*.

    Every PROGRESS_INTERVAL seconds a line on stderr gives the elapsed time
    and the step's last output line; with --verbose every output line is
    copied to stderr instead. Raises ProvisionError naming the step when it
    fails or runs longer than *timeout* seconds. *shown_command*, when given,
    replaces the command line on stderr (the log always has the full one).
    """
    log(f"{step}: {shown_command or ' '.join(command)}")
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8", errors="replace") as log_file:
        log_file.write(f"\n===== {step}: {' '.join(command)}\n")
        log_file.flush()
        try:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as error:
            raise ProvisionError(f"{step} could not start: {error}") from None

        last_line = [""]
        timed_out = threading.Event()
        finished = threading.Event()

        def watch() -> None:
            # Reports progress and kills the step when it exceeds its timeout,
            # even while the step prints nothing.
            while not finished.wait(PROGRESS_INTERVAL if not _verbose else 1.0):
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    timed_out.set()
                    process.kill()
                    return
                if not _verbose and elapsed >= PROGRESS_INTERVAL:
                    # The end of a compiler line names the file being built.
                    log(f"{step}: {format_duration(elapsed)} ... {last_line[0][-90:]}")

        watcher = threading.Thread(target=watch, name=f"progress:{step}", daemon=True)
        watcher.start()
        assert process.stdout is not None
        try:
            for line in process.stdout:
                log_file.write(line)
                if line.strip():
                    last_line[0] = line.strip()
                if _verbose:
                    sys.stderr.write(line)
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            finished.set()
            watcher.join()

    elapsed = format_duration(time.monotonic() - started)
    if timed_out.is_set():
        raise ProvisionError(
            f"{step} timed out after {format_duration(timeout)} and was stopped; "
            f"the full output is in {log_path}"
        )
    if returncode != 0:
        message = (
            f"{step} failed (exit {returncode}) after {elapsed}; "
            f"last output: {last_line[0][:200]!r}; the full output is in {log_path}"
        )
        if hint:
            message += f". {hint}"
        raise ProvisionError(message)
    log(f"{step}: done in {elapsed}")


# --------------------------------------------------------------------------
# Build dependencies


def missing_debian_packages(packages: Sequence[str]) -> list[str]:
    missing = []
    for package in packages:
        completed = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0 or "install ok installed" not in completed.stdout:
            missing.append(package)
    return missing


def ensure_build_dependencies(log_path: Path) -> None:
    """Install missing build dependencies with apt-get when running as root."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-query") is None:
        raise ProvisionError(
            "building needs apt-get and dpkg-query (a Debian-based system); "
            f"install a free-threaded CPython 3.13 yourself and set {ENV_VAR} to it"
        )
    missing = missing_debian_packages(BUILD_DEPENDENCIES)
    if not missing:
        debug("build dependencies: all installed")
        return
    if os.geteuid() != 0:
        raise ProvisionError(
            "missing build dependencies: "
            f"{' '.join(missing)}; install them with "
            f"'sudo apt-get install {' '.join(missing)}' and run this again"
        )

    log(f"installing missing build dependencies: {' '.join(missing)}")
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    hint = f"Install {' '.join(missing)} by hand and run this again"
    run_logged(
        "apt-get update", ["apt-get", "update"], log_path,
        env=environment, timeout=APT_TIMEOUT, hint=hint,
    )
    run_logged(
        "install build dependencies",
        ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        log_path, env=environment, timeout=APT_TIMEOUT, hint=hint,
    )


# --------------------------------------------------------------------------
# Source download through a private apt configuration


def iter_apt_entries() -> Iterator[tuple[list[str], list[str], list[str]]]:
    """Yield (types, uris, suites) for each entry of the machine's apt sources."""
    one_line_files = [Path("/etc/apt/sources.list")]
    one_line_files += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    for path in one_line_files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for raw_line in text.splitlines():
            words = raw_line.split("#", 1)[0].split()
            if len(words) < 3 or words[0] not in ("deb", "deb-src"):
                continue
            kind, rest = words[0], words[1:]
            if rest[0].startswith("["):
                while rest and not rest[0].endswith("]"):
                    rest = rest[1:]
                rest = rest[1:]
            if len(rest) >= 2:
                yield [kind], [rest[0]], [rest[1]]

    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for paragraph in text.split("\n\n"):
            fields: dict[str, str] = {}
            for line in paragraph.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            uris = fields.get("uris", "").split()
            if uris:
                yield (
                    fields.get("types", "").split(),
                    uris,
                    fields.get("suites", "").split(),
                )


def mirror_candidates() -> list[str]:
    """Return the machine's Debian mirror URIs, most likely to carry trixie first.

    Entries that only serve security updates are left out because the
    security archive has no plain ``trixie`` suite.
    """
    candidates: list[str] = []
    for _types, uris, suites in iter_apt_entries():
        if suites and all(s.endswith(("-security", "/updates")) for s in suites):
            continue
        for uri in uris:
            if uri.startswith(("http://", "https://")) and uri not in candidates:
                candidates.append(uri)
    # A URI whose path ends in /debian is the main archive on Debian mirrors.
    candidates.sort(key=lambda uri: not uri.rstrip("/").endswith("/debian"))
    return candidates


def apt_options(root: Path) -> list[str]:
    """Return apt-get options that confine apt to the private folder *root*."""
    options = {
        "Dir::Etc::SourceList": root / "sources.list",
        "Dir::Etc::SourceParts": root / "sources.list.d",
        "Dir::Etc::Preferences": root / "preferences",
        "Dir::Etc::PreferencesParts": root / "preferences.d",
        "Dir::State": root / "state",
        "Dir::State::Lists": root / "state" / "lists",
        "Dir::Cache": root / "cache",
        "Dir::Cache::Archives": root / "cache" / "archives",
    }
    arguments = []
    for name, value in options.items():
        arguments += ["-o", f"{name}={value}"]
    if os.geteuid() == 0:
        # apt drops to the _apt user for downloads, and that user cannot
        # write into a private temporary folder owned by root.
        arguments += ["-o", "APT::Sandbox::User=root"]
    return arguments


def prepare_apt_root(root: Path, mirror: str) -> None:
    for folder in (
        root / "sources.list.d",
        root / "preferences.d",
        root / "state" / "lists" / "partial",
        root / "cache" / "archives" / "partial",
    ):
        folder.mkdir(parents=True, exist_ok=True)
    (root / "sources.list").write_text(
        f"deb-src [signed-by={DEBIAN_KEYRING}] {mirror} {SOURCE_SUITE} main\n",
        encoding="utf-8",
    )


def download_source(work: Path, log_path: Path) -> Path:
    """Download the CPython orig tarball and return its path."""
    if not DEBIAN_KEYRING.exists():
        raise ProvisionError(
            f"{DEBIAN_KEYRING} not found; install the debian-archive-keyring "
            "package so apt can verify the source download"
        )
    mirrors = mirror_candidates()
    if not mirrors:
        raise ProvisionError(
            "no Debian mirror found in /etc/apt/sources.list or "
            "/etc/apt/sources.list.d; the source of CPython cannot be downloaded"
        )

    failures = []
    for index, mirror in enumerate(mirrors):
        apt_root = work / f"apt-{index}"
        download = work / f"source-{index}"
        download.mkdir(parents=True)
        prepare_apt_root(apt_root, mirror)
        options = apt_options(apt_root)
        try:
            run_logged(
                f"apt-get update (private, deb-src {SOURCE_SUITE})",
                ["apt-get", *options, "update"],
                log_path, timeout=APT_TIMEOUT,
                shown_command=f"apt-get update with {apt_root}/sources.list",
            )
            run_logged(
                f"download {SOURCE_PACKAGE} source",
                ["apt-get", *options, "source", "--download-only", SOURCE_PACKAGE],
                log_path, cwd=download, timeout=APT_TIMEOUT,
                shown_command=f"apt-get source --download-only {SOURCE_PACKAGE}",
            )
        except ProvisionError as error:
            failures.append(f"{mirror}: {error}")
            continue
        tarballs = sorted(download.glob(f"{SOURCE_PACKAGE}_*.orig.tar.*"))
        if tarballs:
            log(f"source: {tarballs[0].name} from {mirror}")
            return tarballs[0]
        failures.append(f"{mirror}: no orig tarball among {sorted(os.listdir(download))}")

    raise ProvisionError(
        f"could not download the {SOURCE_PACKAGE} source from the {SOURCE_SUITE} "
        "suite of any configured Debian mirror: " + "; ".join(failures)
    )


def extract_source(tarball: Path, destination: Path) -> Path:
    """Unpack *tarball* and return the folder that holds ``configure``."""
    log(f"extract: {tarball.name}")
    destination.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):
            # The "data" filter rejects absolute paths and links out of the tree.
            archive.extractall(destination, filter="data")
        else:  # Python 3.11.0-3.11.3 lack extraction filters.
            archive.extractall(destination)
    found = sorted(destination.glob("*/configure"))
    if not found:
        raise ProvisionError(f"{tarball} holds no top-level folder with a configure script")
    return found[0].parent


# --------------------------------------------------------------------------
# Build


def build_interpreter(log_path: Path) -> Interpreter:
    """Build CPython with --disable-gil and install it atomically into the cache."""
    root = cache_root()
    final_prefix = root / CACHE_NAME
    started = time.monotonic()
    log_path.write_text("", encoding="utf-8")
    log(f"building a free-threaded CPython into {final_prefix}, which takes a few "
        f"minutes; the full log is {log_path}")

    ensure_build_dependencies(log_path)

    # The staging folder sits next to the cache so the final rename stays on
    # one file system and is atomic.
    work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        tarball = download_source(work, log_path)
        source = extract_source(tarball, work / "src")
        jobs = str(os.cpu_count() or 1)
        missing_hint = (
            "Check that these Debian packages are installed: "
            + " ".join(BUILD_DEPENDENCIES)
        )
        try:
            run_logged(
                "configure",
                ["./configure", "--disable-gil", f"--prefix={final_prefix}",
                 "--with-ensurepip=install"],
                log_path, cwd=source, timeout=CONFIGURE_TIMEOUT, hint=missing_hint,
            )
        except ProvisionError as error:
            # The build folder is deleted below, and config.log holds the
            # details of a failed configure check.
            config_log = source / "config.log"
            if not config_log.exists():
                raise
            kept = root / f"{CACHE_NAME}-config.log"
            shutil.copyfile(config_log, kept)
            raise ProvisionError(f"{error}. configure's own log is {kept}") from None
        run_logged(
            "make", ["make", f"-j{jobs}"],
            log_path, cwd=source, timeout=MAKE_TIMEOUT, hint=missing_hint,
        )
        staging = work / "staging"
        run_logged(
            "make install", ["make", "install", f"DESTDIR={staging}"],
            log_path, cwd=source, timeout=INSTALL_TIMEOUT,
        )

        staged_prefix = staging / final_prefix.relative_to(final_prefix.anchor)
        log("verify: the staged interpreter")
        check_interpreter(staged_prefix / CACHED_EXECUTABLE)

        if final_prefix.exists():
            # Only a build that failed verification is replaced; the caller
            # holds the lock, so no one else is using or writing it.
            retired = work / "retired"
            final_prefix.rename(retired)
        staged_prefix.rename(final_prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    interpreter = check_interpreter(final_prefix / CACHED_EXECUTABLE)
    log(f"built Python {'.'.join(map(str, interpreter.version))} in "
        f"{format_duration(time.monotonic() - started)}")
    return interpreter


class BuildLock:
    """An exclusive fcntl lock on a file in the cache, held during a build.

    The kernel releases the lock when its holder exits, even when killed, so
    a stale lock file never blocks a later build.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def __enter__(self) -> Self:
        import fcntl  # POSIX only, like the build itself.

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.path, "a+", encoding="utf-8")
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            waited = time.monotonic() - started
            if waited > LOCK_TIMEOUT:
                lock_file.close()
                raise ProvisionError(
                    f"timed out after {format_duration(waited)} waiting for the "
                    f"build lock {self.path}, held by pid {holder}; stop that "
                    "process or wait for it to finish"
                )
            if not announced:
                log(f"another process (pid {holder}) is building; waiting for {self.path}")
                announced = True
            time.sleep(2.0)

        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._file = lock_file
        return self

    def __exit__(self, *exc_info: object) -> None:
        import fcntl

        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def remove_stale_build_folders(root: Path) -> None:
    """Delete staging folders left by interrupted builds (lock held)."""
    for folder in root.glob("build-*"):
        if folder.is_dir():
            debug(f"removing the interrupted build folder {folder}")
            shutil.rmtree(folder, ignore_errors=True)


def provision(*, allow_build: bool, rebuild: bool) -> Interpreter:
    if not rebuild:
        interpreter = find_interpreter()
        if interpreter is not None:
            return interpreter
    elif os.environ.get(ENV_VAR):
        raise ProvisionError(f"--rebuild ignores {ENV_VAR}; unset it first")

    if not allow_build:
        raise ProvisionError(
            "no free-threaded CPython 3.13+ found (searched "
            f"{ENV_VAR}, {', '.join(PATH_NAMES)} on PATH, "
            f"{cached_interpreter_path()}, uv and pyenv); "
            "run without --no-build to build one"
        )

    root = cache_root()
    with BuildLock(root / f"{CACHE_NAME}.lock"):
        # Another caller may have finished a build while this one waited.
        cached = cached_interpreter_path()
        if cached.exists() and not rebuild:
            try:
                return check_interpreter(cached)
            except ProvisionError as error:
                log(f"the cached build is not usable and will be rebuilt: {error}")
        remove_stale_build_folders(root)
        return build_interpreter(root / f"{CACHE_NAME}-build.log")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Print the path of a free-threaded CPython 3.13+ interpreter, "
            "building one into the user cache when none is found."
        ),
    )
    parser.add_argument(
        "--no-build", action="store_true",
        help="only search; fail instead of building when nothing is found",
    )
    parser.add_argument(
        "--rebuild", action="store_true",
        help="build again into the cache even if a cached build works",
    )
    parser.add_argument(
        "--verbose", action="store_true",
        help="report every candidate checked and stream the build output to stderr",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    global _verbose
    arguments = parse_arguments(argv)
    _verbose = arguments.verbose
    try:
        interpreter = provision(allow_build=not arguments.no_build, rebuild=arguments.rebuild)
    except ProvisionError as error:
        log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; nothing was cached")
        return 130
    debug(f"Python {'.'.join(map(str, interpreter.version))}, free-threaded, GIL disabled")
    print(interpreter.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
