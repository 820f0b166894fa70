"""Charts that the benchmarks, stress tests and scalability curves run.

Each builder returns plain chart objects (no ``Machine``), so that callers
decide whether compilation is inside or outside the timed region. Every
builder is iterative: the 1,000,000-state and 100,000-level charts must not
depend on the recursion limit.
"""

from __future__ import annotations

from typing import Any

from statechartx import Final, History, Parallel, State, Transition

__all__ = [
    "ping_pong",
    "balanced_tree",
    "tree_leaf_pair",
    "standard_chart",
    "STANDARD_CHART_STATES",
    "history_chart",
    "broadcast_chart",
    "complex_chart",
    "COMPLEX_CYCLE",
    "flat_chart",
    "deep_chart",
    "deep_leaf",
]


def ping_pong() -> State:
    """Two atomic states that swap on every ``ping`` event."""
    return State(
        "pingpong",
        initial="ping",
        children=[
            State("ping", transitions=[Transition("ping", target="pong")]),
            State("pong", transitions=[Transition("ping", target="ping")]),
        ],
    )


def balanced_tree(depth: int, fanout: int) -> State:
    """A compound tree ``depth`` levels below its root, ``fanout`` children each.

    State ids are ``t`` followed by the child positions on the path, so
    ``t.0.3`` is the fourth child of the first child of the root.
    """
    root = State("t")
    # Breadth-first, one level at a time; children tuples are assigned once a
    # level is complete because State copies its children when constructed.
    level = [root]
    for current_depth in range(1, depth + 1):
        next_level = []
        for node in level:
            kids = [State(f"{node.id}.{position}") for position in range(fanout)]
            node.children = tuple(kids)
            node.initial = kids[0].id
            next_level.extend(kids)
        level = next_level
    return root


def tree_leaf_pair(depth: int, fanout: int) -> tuple[str, str]:
    """Two leaves of ``balanced_tree(depth, fanout)`` whose LCA is the root's child.

    Both leaves sit under ``t.0`` but in its first and last subtrees, so the
    query crosses the whole depth of the tree.
    """
    first = "t.0" + ".0" * (depth - 1)
    last = "t.0" + f".{fanout - 1}" * (depth - 1)
    return first, last


# Ids of the standard chart, listed so that a test can check the count.
STANDARD_CHART_STATES = 20


def standard_chart() -> State:
    """The standard 20-state chart: nested compound states, a parallel state
    with two regions and a deep history state."""
    return State(
        "app",
        initial="idle",
        children=[
            State("idle", transitions=[Transition("start", target="active")]),
            State(
                "active",
                initial="work",
                transitions=[
                    Transition("pause", target="paused"),
                    Transition("fail", target="error"),
                ],
                children=[
                    History("active.h", deep=True, default="work"),
                    Parallel(
                        "work",
                        children=[
                            State(
                                "net",
                                initial="net.off",
                                children=[
                                    State("net.off", transitions=[Transition("up", target="net.on")]),
                                    State("net.on", transitions=[Transition("down", target="net.off")]),
                                ],
                            ),
                            State(
                                "ui",
                                initial="ui.list",
                                children=[
                                    State("ui.list", transitions=[Transition("open", target="ui.detail")]),
                                    State(
                                        "ui.detail",
                                        initial="ui.view",
                                        transitions=[Transition("close", target="ui.list")],
                                        children=[
                                            State("ui.view", transitions=[Transition("edit", target="ui.edit")]),
                                            State("ui.edit", transitions=[Transition("save", target="ui.view")]),
                                        ],
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            State(
                "paused",
                initial="paused.wait",
                transitions=[Transition("resume", target="active.h")],
                children=[
                    State("paused.wait", transitions=[Transition("tick", target="paused.ask")]),
                    State("paused.ask", transitions=[Transition("tick", target="paused.wait")]),
                ],
            ),
            State("error", transitions=[Transition("reset", target="idle")]),
            State(
                "shutdown",
                initial="shutdown.flush",
                children=[
                    State("shutdown.flush", transitions=[Transition("flushed", target="shutdown.done")]),
                    Final("shutdown.done"),
                ],
            ),
        ],
    )


def history_chart() -> State:
    """A chart whose ``suspend``/``resume`` pair leaves a nested configuration
    and restores it through a deep history state."""
    return State(
        "player",
        initial="playing",
        children=[
            State(
                "playing",
                initial="track",
                transitions=[Transition("suspend", target="suspended")],
                children=[
                    History("playing.h", deep=True),
                    State(
                        "track",
                        initial="intro",
                        children=[
                            State("intro", transitions=[Transition("next", target="verse")]),
                            State(
                                "verse",
                                initial="verse.a",
                                children=[State("verse.a"), State("verse.b")],
                            ),
                        ],
                    ),
                ],
            ),
            State("suspended", transitions=[Transition("resume", target="playing.h")]),
        ],
    )


def broadcast_chart(regions: int) -> Parallel:
    """A parallel state of ``regions`` regions; every region toggles between
    two states on ``tick``, so one event fires one transition per region."""
    return Parallel(
        "regions",
        children=[
            State(
                f"r{i}",
                initial=f"r{i}.off",
                children=[
                    State(f"r{i}.off", transitions=[Transition("tick", target=f"r{i}.on")]),
                    State(f"r{i}.on", transitions=[Transition("tick", target=f"r{i}.off")]),
                ],
            )
            for i in range(regions)
        ],
    )


def _count(ctx: Any) -> None:
    ctx.data["count"] = ctx.data.get("count", 0) + 1


def _below_limit(ctx: Any) -> bool:
    return ctx.data.get("count", 0) % 3 != 2


def _at_limit(ctx: Any) -> bool:
    return ctx.data.get("count", 0) % 3 == 2


def _is_online(ctx: Any) -> bool:
    return ctx.is_in("link.on")


# A fixed cycle of events that exercises every feature of ``complex_chart()``
# (guards both ways, the raised event, history); the benchmark times it whole.
COMPLEX_CYCLE = (
    "connect", "job", "job", "job", "suspend", "resume",
    "job", "job", "job", "disconnect", "job", "connect", "disconnect",
)


def complex_chart() -> State:
    """Nested + parallel + deep history + guards + actions + a raised event.

    A parallel ``session`` holds a link region and a worker region; the worker
    counts jobs in the datamodel, a guard routes every third job to a
    ``flush`` state that raises an internal event, and a deep history state
    restores both regions after ``suspend``/``resume``.
    """
    return State(
        "service",
        initial="outer",
        children=[
            State(
                "outer",
                initial="session",
                transitions=[Transition("suspend", target="standby")],
                children=[
                    History("outer.h", deep=True),
                    Parallel(
                        "session",
                        children=[
                            State(
                                "link",
                                initial="link.off",
                                children=[
                                    State("link.off", transitions=[Transition("connect", target="link.on")]),
                                    State("link.on", transitions=[Transition("disconnect", target="link.off")]),
                                ],
                            ),
                            State(
                                "worker",
                                initial="worker.idle",
                                children=[
                                    State(
                                        "worker.idle",
                                        transitions=[
                                            Transition("job", target="worker.busy", guard=_is_online, action=_count),
                                            Transition("job", action=_count),
                                        ],
                                    ),
                                    State(
                                        "worker.busy",
                                        initial="worker.run",
                                        transitions=[Transition("flushed", target="worker.idle")],
                                        children=[
                                            State(
                                                "worker.run",
                                                transitions=[
                                                    Transition("job", target="worker.run", guard=_below_limit, action=_count),
                                                    Transition("job", target="worker.flush", guard=_at_limit, action=_count),
                                                ],
                                            ),
                                            State(
                                                "worker.flush",
                                                on_entry=lambda ctx: ctx.raise_event("flushed"),
                                            ),
                                        ],
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            State("standby", transitions=[Transition("resume", target="outer.h")]),
        ],
    )


def flat_chart(states: int) -> State:
    """A compound root with ``states`` atomic children in a ring: ``next``
    moves from each child to the following one."""
    if states < 2:
        raise ValueError(f"flat_chart needs at least 2 states, got {states!r}")
    children = [
        State(f"s{i}", transitions=[Transition("next", target=f"s{(i + 1) % states}")])
        for i in range(states)
    ]
    return State("flat", initial="s0", children=children)


def deep_chart(depth: int) -> State:
    """Two chains of ``depth`` nested compound states under one root.

    ``cross`` at the leaf of either chain goes to the leaf of the other, so
    it exits and enters ``depth`` states; ``swap`` moves between two sibling
    leaves at the bottom of a chain, a transition whose domain is the deepest
    compound state.
    """
    if depth < 1:
        raise ValueError(f"deep_chart needs depth >= 1, got {depth!r}")
    chains = []
    for name, other in (("a", "b"), ("b", "a")):
        leaf_id = deep_leaf(name, depth)
        node: State = State(
            f"{name}{depth}",
            initial=leaf_id,
            children=[
                State(
                    leaf_id,
                    transitions=[
                        Transition("cross", target=deep_leaf(other, depth)),
                        Transition("swap", target=f"{leaf_id}.alt"),
                    ],
                ),
                State(f"{leaf_id}.alt", transitions=[Transition("swap", target=leaf_id)]),
            ],
        )
        # Built from the bottom up so that no builder call nests.
        for level in range(depth - 1, 0, -1):
            node = State(f"{name}{level}", children=[node])
        chains.append(node)
    return State("deep", initial="a1", children=chains)


def deep_leaf(chain: str, depth: int) -> str:
    """Id of the leaf at the bottom of chain ``chain`` in ``deep_chart(depth)``."""
    return f"{chain}{depth}.leaf"
