"""The statechartx performance suite: benchmarks, stress tests, breaking
points, scalability curves, profiles and the report that joins them.

Run it with ``python -m perf --build gil|nogil [--quick]`` from the
repository root (``nox -s perf-gil perf-nogil`` does that on both builds);
``python -m perf --help`` lists the options and ``perf/__main__.py`` the
parts. It uses only the public API of statechartx.
"""
