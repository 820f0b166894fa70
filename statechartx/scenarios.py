"""Named concurrent scenarios for ``python -m statechartx trace`` and ``bench``.

Each scenario builds its charts, runs them on runtimes for a bounded number
of events and stops everything, so that a trace of it shows the actor thread
tracks, their macrosteps and the waits between them. They use only the
public API and are small enough to finish in a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .actors import Supervisor
from .chart import Parallel, State, Transition
from .machine import Machine
from .runtime import Runtime

__all__ = ["SCENARIOS", "ping_pong_machine", "busy_regions_machine"]


def ping_pong_machine(name: str = "ping-pong") -> Machine:
    """Two states that swap on every ``go`` event."""
    return Machine(
        State(
            "root",
            children=[
                State("ping", transitions=[Transition("go", "pong")]),
                State("pong", transitions=[Transition("go", "ping")]),
            ],
        ),
        name=name,
    )


def _spin(work: int) -> Callable[[object], None]:
    def action(ctx: object) -> None:
        total = 0
        for i in range(work):
            total += i * i

    return action


def busy_regions_machine(regions: int, work: int, concurrent: bool = True) -> Machine:
    """A parallel state whose regions each do ``work`` loop iterations of
    CPU work in the entry action of the state a ``go`` event moves them to."""
    children = []
    for r in range(regions):
        children.append(
            State(
                f"r{r}",
                children=[
                    State(f"r{r}.a", transitions=[Transition("go", f"r{r}.b")]),
                    State(
                        f"r{r}.b",
                        on_entry=_spin(work),
                        transitions=[Transition("go", f"r{r}.a")],
                    ),
                ],
            )
        )
    return Machine(
        State("top", children=[Parallel("p", children=children, concurrent=concurrent)]),
        name="busy-regions",
    )


def regions_scenario(events: int = 20) -> None:
    """One runtime whose parallel state runs 4 regions on region actors."""
    machine = busy_regions_machine(4, 20_000)
    with Runtime(machine, name="regions") as rt:
        for _ in range(events):
            rt.send("go")
        rt.wait_idle(30.0)


def runtimes_scenario(events: int = 2_000) -> None:
    """Four runtimes on their own threads, fed by the main thread."""
    machine = ping_pong_machine()
    with Supervisor("runtimes") as supervisor:
        runtimes = [
            Runtime(machine, name=f"worker{i}", supervisor=supervisor).start()
            for i in range(4)
        ]
        for _ in range(events):
            for rt in runtimes:
                rt.send("go")
        for rt in runtimes:
            rt.wait_idle(30.0)
        for rt in runtimes:
            rt.stop()


def pool_scenario(events: int = 100) -> None:
    """A hundred runtimes sharing two pool workers."""
    machine = ping_pong_machine()
    with Supervisor("pool") as supervisor:
        pool = supervisor.pool(2)
        runtimes = [
            Runtime(machine, name=f"m{i}", supervisor=supervisor, dispatcher=pool).start(
                wait=False
            )
            for i in range(100)
        ]
        for rt in runtimes:
            rt.wait_started(30.0)
        for _ in range(events):
            for rt in runtimes:
                rt.send("go")
        for rt in runtimes:
            rt.wait_idle(30.0)
        for rt in runtimes:
            rt.stop()


def mixed_scenario() -> None:
    """The regions and the runtimes scenarios at the same time."""
    import threading

    worker = threading.Thread(target=runtimes_scenario, name="feeder")
    worker.start()
    regions_scenario()
    worker.join(60.0)


SCENARIOS: dict[str, Callable[[], None]] = {
    "regions": regions_scenario,
    "runtimes": runtimes_scenario,
    "pool": pool_scenario,
    "mixed": mixed_scenario,
}


def timed(scenario: Callable[[], None]) -> float:
    """Run a scenario and return its wall time in seconds."""
    started = time.perf_counter()
    scenario()
    return time.perf_counter() - started
