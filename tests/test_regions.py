"""Region actors: the regions of a concurrent parallel state on their own actors.

Covers where region callbacks run, broadcast and addressed events, crashes
of region actors, parallel states with thousands of regions (thread per
region and on a pool), and that nothing is left behind after a stop. The
equivalence with sequential SCXML is checked by property tests in
test_regions_properties.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from typing import Any

import pytest

from statechartx import Event, Machine, Parallel, State, Transition
from statechartx.actors import Supervisor
from statechartx.errors import StatechartxError
from statechartx.runtime import Runtime

WAIT = 10.0
HOLD = 30.0


def gil_state() -> str:
    check = getattr(sys, "_is_gil_enabled", None)
    enabled = True if check is None else check()
    return f"GIL {'enabled' if enabled else 'disabled'}"


def region_machine(regions: int, *, concurrent: bool = True) -> Machine:
    """"off" --enter--> parallel "p" of ``regions`` regions r0..r<n-1>.

    Each region's entry and its "ping" transition record, in the region's own
    slot of ``ctx.data``, the thread they ran on. "leave" exits "p".
    """

    def entered(index: int) -> Any:
        def action(ctx: Any) -> None:
            ctx.data["entered"][index] += 1
            ctx.data["threads"][index] = threading.current_thread().name

        return action

    def pinged(index: int) -> Any:
        def action(ctx: Any) -> None:
            ctx.data["pinged"][index] += 1
            ctx.data["threads"][index] = threading.current_thread().name

        return action

    return Machine(
        State(
            "top",
            initial="off",
            children=[
                State("off", transitions=[Transition("enter", target="p")]),
                Parallel(
                    "p",
                    concurrent=concurrent,
                    transitions=[Transition("leave", target="off")],
                    children=[
                        State(
                            f"r{i}",
                            on_entry=entered(i),
                            children=[
                                State(f"s{i}", transitions=[Transition("ping", action=pinged(i))])
                            ],
                        )
                        for i in range(regions)
                    ],
                ),
            ],
        )
    )


def region_data(regions: int) -> dict[str, Any]:
    return {
        "entered": [0] * regions,
        "pinged": [0] * regions,
        "threads": [None] * regions,
    }


# ----------------------------------------------------------------------
# Where region callbacks run


@pytest.mark.timeout(30)
def test_region_callbacks_run_on_region_threads() -> None:
    data = region_data(3)
    before = {t.ident for t in threading.enumerate()}
    with Runtime(region_machine(3), name="where", data=data) as rt:
        assert rt.configuration == frozenset({"top", "off"})
        assert rt.call("enter", timeout=WAIT) >= {"p", "r0", "r1", "r2", "s0", "s1", "s2"}
        assert data["threads"] == ["region:where/r0", "region:where/r1", "region:where/r2"]
        names = {t.name for t in threading.enumerate() if t.ident not in before}
        assert {"runtime:where", "region:where/r0", "region:where/r1", "region:where/r2"} <= names
        rt.call("ping", timeout=WAIT)
        assert data["pinged"] == [1, 1, 1]
    left = [t.name for t in threading.enumerate() if t.ident not in before]
    assert left == []


@pytest.mark.timeout(30)
def test_runtime_option_makes_every_parallel_concurrent() -> None:
    data = region_data(2)
    machine = region_machine(2, concurrent=False)
    with Runtime(machine, name="all-regions", data=data, concurrent_regions=True) as rt:
        rt.call("enter", timeout=WAIT)
    assert data["threads"] == ["region:all-regions/r0", "region:all-regions/r1"]


@pytest.mark.timeout(30)
def test_sequential_parallel_runs_on_runtime_thread() -> None:
    data = region_data(2)
    with Runtime(region_machine(2, concurrent=False), name="seq-regions", data=data) as rt:
        rt.call("enter", timeout=WAIT)
    assert data["threads"] == ["runtime:seq-regions", "runtime:seq-regions"]


@pytest.mark.timeout(30)
def test_reentering_parallel_reuses_region_actors() -> None:
    data = region_data(4)
    with Runtime(region_machine(4), name="reenter", data=data) as rt:
        rt.call("enter", timeout=WAIT)
        threads_in = {t.ident for t in threading.enumerate()}
        for _ in range(20):
            rt.send("leave")
            rt.send("enter")
            rt.send("ping")
        assert rt.wait_idle(WAIT)
        threads_after = {t.ident for t in threading.enumerate()}
    assert data["entered"] == [21] * 4
    assert data["pinged"] == [20] * 4
    assert threads_after == threads_in


@pytest.mark.timeout(30)
def test_call_from_region_action_raises() -> None:
    errors: list[BaseException] = []

    def call_back(ctx: Any) -> None:
        try:
            ctx.data["runtime"][0].call("x", timeout=1.0)
        except StatechartxError as exc:
            errors.append(exc)

    machine = Machine(
        Parallel(
            "p",
            concurrent=True,
            children=[
                State("r0", children=[State("s0", transitions=[Transition("go", action=call_back)])]),
                State("r1", children=[State("s1")]),
            ],
        )
    )
    holder: list[Runtime] = []
    with Runtime(machine, name="region-call", data={"runtime": holder}) as rt:
        holder.append(rt)
        rt.call("go", timeout=WAIT)
    assert len(errors) == 1
    assert "own thread" in str(errors[0])


# ----------------------------------------------------------------------
# Addressed events


@pytest.mark.timeout(30)
def test_addressed_event_reaches_only_its_region() -> None:
    data = region_data(5)
    with Runtime(region_machine(5), name="addressed", data=data) as rt:
        rt.call("enter", timeout=WAIT)
        rt.send(Event("ping", target="r3"))
        rt.call(Event("ping", target="r1"), timeout=WAIT)
        rt.send(Event("ping", target="r3"))
        assert rt.wait_idle(WAIT)
    assert data["pinged"] == [0, 1, 0, 2, 0]


@pytest.mark.timeout(30)
def test_addressed_event_sees_region_ancestors_only() -> None:
    # A transition on the parallel state itself is outside every region's
    # subtree, so an addressed event must not take it.
    log: list[str] = []
    machine = Machine(
        State(
            "top",
            initial="p",
            children=[
                Parallel(
                    "p",
                    concurrent=True,
                    transitions=[Transition("hit", target="out", action=lambda ctx: log.append("p"))],
                    children=[
                        State(
                            "r0",
                            transitions=[Transition("hit", action=lambda ctx: log.append("r0"))],
                            children=[State("s0")],
                        ),
                        State("r1", children=[State("s1")]),
                    ],
                ),
                State("out"),
            ],
        )
    )
    with Runtime(machine, name="addressed-scope") as rt:
        assert "p" in rt.call(Event("hit", target="r0"), timeout=WAIT)
        # r1 has no transition for it, and the parallel's is out of scope.
        assert "p" in rt.call(Event("hit", target="r1"), timeout=WAIT)
        assert log == ["r0"]
        # Broadcast: r0's transition is chosen for s0, the parallel's for s1.
        # r0's is targetless, exits nothing and so does not conflict: both run.
        assert "out" in rt.call("hit", timeout=WAIT)
    assert log == ["r0", "r0", "p"]


@pytest.mark.timeout(30)
def test_address_that_is_not_a_region_raises_at_send() -> None:
    with Runtime(region_machine(2), name="bad-address", data=region_data(2)) as rt:
        for target in ("p", "s0", "top", "nowhere"):
            with pytest.raises(StatechartxError, match="not a region"):
                rt.send(Event("ping", target=target))
        assert rt.metrics["statechartx_events_sent_total"] == 0


@pytest.mark.timeout(30)
def test_address_of_inactive_parallel_is_error_execution() -> None:
    errors: list[Any] = []
    machine = Machine(
        State(
            "top",
            initial="off",
            transitions=[Transition("error.execution", action=lambda ctx: errors.append(ctx.event))],
            children=[
                State("off", transitions=[Transition("enter", target="p")]),
                Parallel(
                    "p",
                    concurrent=True,
                    children=[
                        State("r0", children=[State("s0", transitions=[Transition("ping", target="s0")])]),
                        State("r1", children=[State("s1")]),
                    ],
                ),
            ],
        )
    )
    with Runtime(machine, name="inactive-address") as rt:
        assert rt.call(Event("ping", target="r0"), timeout=WAIT) == frozenset({"top", "off"})
    assert len(errors) == 1
    assert errors[0].type == "platform"
    assert isinstance(errors[0].data, ValueError)
    assert "r0" in str(errors[0].data)
    assert "not active" in str(errors[0].data)


# ----------------------------------------------------------------------
# Errors and crashes in regions


class Boom(BaseException):
    """Escapes the interpreter's handling of user errors (not an Exception)."""


def crash_machine(concurrent: bool) -> Machine:
    def maybe_boom(ctx: Any) -> None:
        if ctx.event.data == "boom":
            raise Boom("region action escaped")
        if ctx.event.data == "error":
            raise ValueError("ordinary failure in r0")
        ctx.data["log"]["r0"].append(ctx.event.data)

    def record(label: str) -> Any:
        return lambda ctx: ctx.data["log"][label].append(ctx.event.data)

    def record_error(ctx: Any) -> None:
        ctx.data["errors"].append((ctx.event.name, ctx.event.type, repr(ctx.event.data)))

    return Machine(
        State(
            "top",
            initial="p",
            transitions=[Transition("error.execution", action=record_error)],
            on_entry=lambda ctx: ctx.data["boots"].append(1),
            children=[
                Parallel(
                    "p",
                    concurrent=concurrent,
                    children=[
                        State(
                            "r0",
                            initial="a0",
                            children=[
                                State("a0", transitions=[Transition("go", target="b0", action=maybe_boom)]),
                                State("b0", transitions=[Transition("go", target="a0", action=maybe_boom)]),
                            ],
                        ),
                        State(
                            "r1",
                            children=[State("a1", transitions=[Transition("go", action=record("r1"))])],
                        ),
                    ],
                )
            ],
        )
    )


def crash_data() -> dict[str, Any]:
    # One log per region: regions run at the same time and share no list.
    return {"log": {"r0": [], "r1": []}, "errors": [], "boots": []}


@pytest.mark.timeout(30)
def test_ordinary_region_error_is_error_execution_as_sequential() -> None:
    results = {}
    for concurrent in (False, True):
        data = crash_data()
        with Runtime(crash_machine(concurrent), name=f"region-error-{concurrent}", data=data) as rt:
            configs = [rt.call("go", label, timeout=WAIT) for label in ("one", "error", "two")]
            restarts = rt.actor.restarts
        results[concurrent] = (configs, data["log"], data["errors"], restarts)
    assert results[True] == results[False]
    configs, log, errors, restarts = results[True]
    assert restarts == 0
    assert errors == [("error.execution", "platform", "ValueError('ordinary failure in r0')")]
    assert log == {"r0": ["one", "two"], "r1": ["one", "error", "two"]}


@pytest.mark.timeout(30)
def test_region_actor_crash_restarts_runtime() -> None:
    data = crash_data()
    sup = Supervisor("region-crash")
    rt = Runtime(crash_machine(True), name="region-crash", supervisor=sup, data=data)
    try:
        rt.start()
        rt.call("go", "one", timeout=WAIT)
        assert rt.is_in("b0")
        rt.send("go", "boom")
        rt.send("go", "after")
        assert rt.wait_idle(WAIT)
        # The crash restarted the runtime from its initial configuration,
        # and the event queued behind the crash was processed.
        assert rt.actor.restarts == 1
        assert len(data["boots"]) == 2
        assert data["log"]["r0"] == ["one", "after"]
        assert rt.is_in("b0")
        assert sup.failure is None
    finally:
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(30)
def test_is_in_during_exit_matches_sequential() -> None:
    def machine(concurrent: bool, log: list[Any]) -> Machine:
        def record(tag: str) -> Any:
            return lambda ctx: log.append((tag, ctx.is_in("a1"), ctx.is_in("p")))

        return Machine(
            State(
                "top",
                initial="p",
                children=[
                    Parallel(
                        "p",
                        concurrent=concurrent,
                        transitions=[Transition("out", target="z")],
                        children=[
                            State("ra", children=[State("a1", on_exit=record("exit a1"))]),
                            State("rb", children=[State("b1")]),
                        ],
                    ),
                    State("z"),
                ],
            )
        )

    logs: dict[bool, list[Any]] = {False: [], True: []}
    for concurrent in (False, True):
        with Runtime(machine(concurrent, logs[concurrent]), name=f"is-in-{concurrent}") as rt:
            rt.call("out", timeout=WAIT)
    assert logs[False] == [("exit a1", True, True)]
    assert logs[True] == logs[False]


@pytest.mark.timeout(30)
def test_macrostep_limit_in_region_mode_restarts_cleanly() -> None:
    machine = Machine(
        State(
            "top",
            initial="p",
            children=[
                Parallel(
                    "p",
                    concurrent=True,
                    transitions=[Transition("loop", target="x")],
                    children=[State("r0", children=[State("s0")]), State("r1", children=[State("s1")])],
                ),
                State("x", transitions=[Transition(None, target="y")]),
                State("y", transitions=[Transition(None, target="x")]),
            ],
        )
    )
    before = {t.ident for t in threading.enumerate()}
    sup = Supervisor("region-restart")
    rt = Runtime(machine, name="region-restart", supervisor=sup, max_microsteps=50)
    try:
        rt.start()
        rt.send("loop")
        assert rt.wait_idle(WAIT)
        assert rt.actor.restarts == 1
        assert rt.configuration == frozenset({"top", "p", "r0", "s0", "r1", "s1"})
        region_threads = sorted(
            t.name for t in threading.enumerate() if t.name.startswith("region:region-restart/")
        )
        # The old region actors were closed on restart; one actor per region.
        assert region_threads == ["region:region-restart/r0", "region:region-restart/r1"]
    finally:
        rt.stop()
        sup.stop(WAIT)
    assert [t.name for t in threading.enumerate() if t.ident not in before] == []


@pytest.mark.timeout(60)
def test_regions_on_runtime_pool_do_not_deadlock() -> None:
    # In a subprocess: the deadlock leaves non-daemon threads that would keep
    # this test process from exiting.
    script = textwrap.dedent(
        """
        from statechartx import Machine, Parallel, State
        from statechartx.actors import Supervisor
        from statechartx.runtime import Runtime

        machine = Machine(Parallel("p", concurrent=True, children=[
            State(f"r{i}", children=[State(f"s{i}", on_entry=lambda ctx: None)])
            for i in range(3)
        ]))
        sup = Supervisor("pool-regions")
        rt = Runtime(machine, name="pooled", supervisor=sup, dispatcher=sup.pool(1))
        rt.start(timeout=3)
        rt.stop(3)
        sup.stop(3)
        print("ok")
        """
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the runtime and its regions deadlocked on a one-worker pool")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


# ----------------------------------------------------------------------
# Thousands of regions


def run_massive(regions: int, pool_workers: int | None) -> None:
    data = region_data(regions)
    machine = region_machine(regions)
    before = {t.ident for t in threading.enumerate()}
    tracemalloc.start()
    sup = Supervisor(f"massive-{regions}")
    region_dispatcher = sup.pool(pool_workers, name="regions") if pool_workers else None
    rt = Runtime(
        machine, name=f"massive-{regions}", supervisor=sup, data=data,
        region_dispatcher=region_dispatcher,
    )
    try:
        rt.start(timeout=WAIT)
        started = time.perf_counter()
        config = rt.call("enter", timeout=120)
        entered = time.perf_counter()
        threads_inside = threading.active_count()
        rt.call("ping", timeout=120)
        broadcast = time.perf_counter()
        rt.stop(timeout=120)
        stopped = time.perf_counter()
        sup.stop(60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        rt.stop(timeout=60)
        sup.stop(60)
    where = f"a {pool_workers}-worker pool" if pool_workers else "one thread per region"
    print(
        f"\n{gil_state()}: {regions} regions on {where}: enter {entered - started:.3f} s, "
        f"broadcast {broadcast - entered:.3f} s, stop {stopped - broadcast:.3f} s, "
        f"tracemalloc peak {peak / 2**20:.1f} MiB, threads while active {threads_inside}"
    )
    assert len(config) == 2 + 2 * regions
    assert data["entered"] == [1] * regions
    assert data["pinged"] == [1] * regions
    if pool_workers:
        assert set(data["threads"]) <= {f"regions-{i}" for i in range(pool_workers)}
    else:
        assert data["threads"] == [f"region:massive-{regions}/r{i}" for i in range(regions)]
        assert threads_inside >= regions
    left = [t.name for t in threading.enumerate() if t.ident not in before]
    assert left == []
    sup.check_leaks()


@pytest.mark.timeout(300)
def test_thousand_regions_thread_per_region() -> None:
    run_massive(1000, pool_workers=None)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ten_thousand_regions_on_pool() -> None:
    run_massive(10_000, pool_workers=2)
