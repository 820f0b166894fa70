"""Shared test setup: which CPython build runs, and the GIL checks that go with it."""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator

import pytest


def is_freethreaded_build() -> bool:
    """Return True on a free-threaded (``--disable-gil``) CPython build."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED") == 1)


def is_gil_enabled() -> bool:
    """Return whether the GIL is enabled right now.

    A free-threaded build can turn the GIL back on at run time, for example
    when it imports an extension module that does not declare free-threading
    support and PYTHON_GIL is unset. Builds older than 3.13 always have it.
    """
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def gil_requested_on() -> bool:
    """Return True when the run asked for the GIL (PYTHON_GIL=1 or -X gil=1)."""
    option = getattr(sys, "_xoptions", {}).get("gil")
    return option == "1" or (option is None and os.environ.get("PYTHON_GIL") == "1")


def pytest_report_header(config: pytest.Config) -> list[str]:
    build = "free-threaded (Py_GIL_DISABLED=1)" if is_freethreaded_build() else "GIL"
    gil = "enabled" if is_gil_enabled() else "disabled"
    return [
        f"python: {sys.executable} {sys.version.split()[0]} ({sys.implementation.name})",
        f"build: {build}; GIL now: {gil}; PYTHON_GIL={os.environ.get('PYTHON_GIL', '<unset>')}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_freethreaded_build():
        return
    skip = pytest.mark.skip(reason="needs a free-threaded CPython build (python3.13t)")
    for item in items:
        if item.get_closest_marker("freethreaded_only") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def gil_stays_disabled() -> Iterator[None]:
    """Fail the run if the GIL is on in a free-threaded build that did not ask for it.

    The check runs at session teardown in each process, including every
    pytest-xdist worker, so a failure shows as an error on that process's
    last test. CPython also warns with a RuntimeWarning naming the module
    that re-enabled the GIL.
    """
    yield
    if is_freethreaded_build() and not gil_requested_on() and is_gil_enabled():
        pytest.fail(
            "the GIL was re-enabled during the test run on a free-threaded "
            "build, so these tests did not run free-threaded; look for the "
            "RuntimeWarning that names the extension module, or run with "
            "PYTHON_GIL=0",
            pytrace=False,
        )
