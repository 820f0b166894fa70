"""Chart generators and checkers shared by the engine's test files.

``legal_configuration`` checks the SCXML invariants of a configuration
against a compiled ``Machine``. The generators build large charts without
recursion, so the 100,000-level chain cannot hit the recursion limit while
the chart is being built.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from statechartx import Event, Machine, State, Transition
from statechartx.events import matches_any
from statechartx.machine import ATOMIC as _ATOMIC
from statechartx.machine import COMPOUND as _COMPOUND
from statechartx.machine import FINAL as _FINAL
from statechartx.machine import HISTORY as _HISTORY
from statechartx.machine import PARALLEL as _PARALLEL

__all__ = [
    "ConfigurationCheck",
    "Recorder",
    "ReferenceInterpreter",
    "chain_chart",
    "flat_chart",
    "gc_paused",
    "legal_configuration",
    "naive_ancestors",
    "naive_lca",
    "naive_lcca",
]


class ConfigurationCheck:
    """The result of ``legal_configuration``: true when there is no problem.

    ``assert legal_configuration(machine, config)`` shows every problem in
    the failure message, because pytest prints this object's repr.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def __bool__(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        if not self.problems:
            return "<legal configuration>"
        return "<illegal configuration: " + "; ".join(self.problems) + ">"


def legal_configuration(machine: Machine, config: Iterable[str]) -> ConfigurationCheck:
    """Check a configuration (state ids) against the SCXML invariants.

    In a legal configuration the document root has exactly one active child.
    Each active compound state has one active child, and each active parallel
    state has all its children active. Every ancestor of an active state is
    active, and no history state is active.
    """
    active = set(config)
    problems: list[str] = []
    unknown = sorted(s for s in active if s not in machine.index)
    if unknown:
        problems.append(f"unknown ids {unknown}")
        return ConfigurationCheck(problems)

    top = [machine.ids[c] for c in machine.children[0] if machine.ids[c] in active]
    if len(top) != 1:
        problems.append(f"document root has active children {top}, expected exactly one")

    for state_id in sorted(active, key=machine.index.__getitem__):
        i = machine.index[state_id]
        kind = machine.state_kind(state_id)
        if kind == "history":
            problems.append(f"history state {state_id!r} is active")
        p = machine.parent[i]
        if p > 0 and machine.ids[p] not in active:
            problems.append(f"{state_id!r} is active but its parent {machine.ids[p]!r} is not")
        children = [machine.ids[c] for c in machine.children[i]]
        active_children = [c for c in children if c in active]
        if kind == "compound" and len(active_children) != 1:
            problems.append(
                f"compound state {state_id!r} has active children {active_children}, "
                "expected exactly one"
            )
        if kind == "parallel" and len(active_children) != len(children):
            missing = [c for c in children if c not in active]
            problems.append(f"parallel state {state_id!r} has inactive regions {missing}")
    return ConfigurationCheck(problems)


def naive_ancestors(machine: Machine, state_id: str) -> list[str | None]:
    """Return the state itself and its ancestors, nearest first, ending with
    None for the document root, by walking ``machine.parent``."""
    result: list[str | None] = []
    i = machine.index[state_id]
    while i > 0:
        result.append(machine.ids[i])
        i = machine.parent[i]
    result.append(None)
    return result


def naive_lca(machine: Machine, a: str, b: str) -> str | None:
    """Return the lowest common ancestor (each state its own ancestor)."""
    ancestors_of_b = set(naive_ancestors(machine, b))
    for candidate in naive_ancestors(machine, a):
        if candidate in ancestors_of_b:
            return candidate
    raise AssertionError("the document root is a common ancestor of every pair")


def naive_lcca(machine: Machine, states: list[str]) -> str | None:
    """SCXML findLCCA written as in the recommendation.

    The result is the first proper ancestor of ``states[0]`` that is a
    compound state or the document root and of which every other state is a
    proper descendant.
    """
    for anc in naive_ancestors(machine, states[0])[1:]:
        if anc is not None and machine.state_kind(anc) != "compound":
            continue
        if all(anc in naive_ancestors(machine, s)[1:] for s in states[1:]):
            return anc
    raise AssertionError("the document root is a proper ancestor of every state")


class Recorder:
    """Builds actions that append labels to one shared log."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def __call__(self, label: str) -> Callable[[Any], None]:
        def action(ctx: Any) -> None:
            self.log.append(label)

        action.__qualname__ = f"record({label!r})"
        return action

    def entry_exit(self, state_id: str) -> dict[str, Callable[[Any], None]]:
        """Return ``on_entry``/``on_exit`` keyword arguments that log
        ``enter:<id>`` and ``exit:<id>``."""
        return {"on_entry": self(f"enter:{state_id}"), "on_exit": self(f"exit:{state_id}")}

    def take(self) -> list[str]:
        """Return the log so far and clear it."""
        log = list(self.log)
        self.log.clear()
        return log


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large chart.

    A million-node chart creates no reference cycles worth collecting, and
    the collector's repeated passes over the growing heap dominate the build
    time, most of all on free-threaded builds.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def flat_chart(
    n: int, transitions: Iterable[Transition] = (), child_prefix: str = "c"
) -> State:
    """Return a root ``root`` with ``n`` atomic children ``c0``..``c{n-1}``."""
    with gc_paused():
        children = [State(f"{child_prefix}{i}") for i in range(n)]
        return State("root", children=children, transitions=list(transitions))


def chain_chart(
    depth: int,
    top_transitions: Iterable[Transition] = (),
    on_exit: Callable[[Any], Any] | None = None,
) -> State:
    """Return a chain ``depth`` levels deep, built bottom-up without recursion.

    Level ``i`` is ``s{i}`` with children ``[leaf{i}, s{i+1}]`` and initial
    ``leaf{i}``; the last level ``s{depth-1}`` has only ``leaf{depth-1}``.
    ``top_transitions`` are attached to ``s0``; ``on_exit`` to every state.
    """
    with gc_paused():
        last = depth - 1
        node = State(
            f"s{last}",
            children=[State(f"leaf{last}", on_exit=on_exit)],
            on_exit=on_exit,
        )
        for i in range(last - 1, -1, -1):
            node = State(
                f"s{i}",
                children=[State(f"leaf{i}", on_exit=on_exit), node],
                initial=f"leaf{i}",
                transitions=list(top_transitions) if i == 0 else None,
                on_exit=on_exit,
            )
        return node



class _ReferenceContext:
    """The part of the action context that generated charts use."""

    def __init__(self, owner: ReferenceInterpreter, data: dict[str, Any]) -> None:
        self.owner = owner
        self.data = data
        self.event: Any = None

    def raise_event(self, name: str, data: Any = None) -> None:
        self.owner.internal.append(Event(name, data, type="internal"))

    def is_in(self, state_id: str) -> bool:
        return self.owner.machine.index[state_id] in self.owner.config


class ReferenceInterpreter:
    """A slow, literal transcription of the SCXML algorithm (W3C SCXML 1.0,
    Appendix D) over a compiled ``Machine``, used as an oracle.

    It reads only the machine's tables (ids, parent, kind, children,
    history, transitions, initial, history defaults). Every set is
    recomputed from scratch with the recommendation's own definitions, so
    the oracle shares none of the interpreter's shortcuts: cached entry
    sets, domain-based conflict tests and the single-chain fast path. It supports what the
    generated charts use: guards, entry, exit and transition actions that
    touch ``ctx.data`` and ``ctx.raise_event``, history, done events and
    top-level finals, but no initial or history-default actions, datamodel
    callables, invocations or delayed events.
    """

    def __init__(self, machine: Machine, data: dict[str, Any], max_microsteps: int = 10_000) -> None:
        self.machine = machine
        self.config: set[int] = set()
        self.history: dict[int, tuple[int, ...]] = {}
        self.internal: deque[Event] = deque()
        self.ctx = _ReferenceContext(self, data)
        self.running = True
        self.max_microsteps = max_microsteps
        self.microsteps: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.domains: dict[int, int | None] = {}

    # Tree predicates, written from their definitions.

    def is_descendant(self, state: int, ancestor: int) -> bool:
        p = self.machine.parent[state]
        while p >= 0:
            if p == ancestor:
                return True
            p = self.machine.parent[p]
        return False

    def proper_ancestors(self, state: int, stop: int | None) -> list[int]:
        result = []
        p = self.machine.parent[state]
        while p >= 0 and p != stop:
            result.append(p)
            p = self.machine.parent[p]
        return result

    def kind(self, state: int) -> int:
        return self.machine.kind[state]

    def find_lcca(self, states: list[int]) -> int:
        for anc in self.proper_ancestors(states[0], None):
            if anc == 0 or self.kind(anc) == _COMPOUND:
                if all(self.is_descendant(s, anc) for s in states[1:]):
                    return anc
        raise AssertionError("the document root is a common ancestor")

    def effective_targets(self, targets: tuple[int, ...]) -> list[int]:
        result: list[int] = []
        for s in targets:
            if self.kind(s) == _HISTORY:
                if s in self.history:
                    found = list(self.history[s])
                else:
                    found = self.effective_targets(self.machine.history_default[s].targets)
            else:
                found = [s]
            for x in found:
                if x not in result:
                    result.append(x)
        return result

    def domain(self, t: Any) -> int | None:
        if t.source == 0:
            return 0
        targets = self.effective_targets(t.targets)
        if not targets:
            return None
        if (
            t.internal
            and self.kind(t.source) == _COMPOUND
            and all(self.is_descendant(s, t.source) for s in targets)
        ):
            return t.source
        return self.find_lcca([t.source, *targets])

    def exit_set(self, transitions: list[Any]) -> set[int]:
        result: set[int] = set()
        for t in transitions:
            if t.targets:
                d = self.domain(t)
                result.update(s for s in self.config if self.is_descendant(s, d))
        return result

    # Selection.

    def select(self, name: str | None) -> list[Any]:
        enabled: list[Any] = []
        atomic = sorted(s for s in self.config if self.kind(s) in (_ATOMIC, _FINAL))
        for state in atomic:
            found = None
            for s in [state, *self.proper_ancestors(state, 0)]:
                for t in self.machine.transitions[s]:
                    if name is None:
                        if t.descriptors is not None:
                            continue
                    elif t.descriptors is None or not matches_any(t.descriptors, name):
                        continue
                    if t.guard is None or t.guard(self.ctx):
                        found = t
                        break
                if found is not None:
                    break
            if found is not None and found not in enabled:
                enabled.append(found)
        return self.remove_conflicts(enabled)

    def remove_conflicts(self, enabled: list[Any]) -> list[Any]:
        filtered: list[Any] = []
        for t1 in enabled:
            preempted = False
            to_remove = []
            for t2 in filtered:
                if self.exit_set([t1]) & self.exit_set([t2]):
                    if self.is_descendant(t1.source, t2.source):
                        to_remove.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                for t2 in to_remove:
                    filtered.remove(t2)
                filtered.append(t1)
        return filtered

    # Microstep.

    def microstep(self, transitions: list[Any]) -> None:
        if len(self.microsteps) >= self.max_microsteps:
            raise AssertionError("reference interpreter exceeded its microstep cap")
        # NOTE: the recommendation computes each domain twice, in exitStates
        # and again in enterStates after the exit has recorded history
        # values, and the two can differ for a transition to the history of
        # a parallel state that contains its source. The domain is fixed
        # here once, before the exit, as Interpreter does.
        self.domains = {id(t): self.domain(t) for t in transitions}
        exits = sorted(self.exit_set(transitions), reverse=True)
        for s in exits:
            for h in self.machine.history.get(s, ()):
                if self.machine.nodes[h].deep:
                    value = [x for x in self.config if self.kind(x) in (_ATOMIC, _FINAL) and self.is_descendant(x, s)]
                else:
                    value = [x for x in self.config if self.machine.parent[x] == s]
                self.history[h] = tuple(sorted(value))
        for s in exits:
            for action in self.machine.nodes[s].on_exit:
                action(self.ctx)
            self.config.discard(s)
        for t in transitions:
            for action in t.actions:
                action(self.ctx)
        entered = self.enter_states(transitions)
        ids = self.machine.ids
        self.microsteps.append((tuple(ids[s] for s in exits), tuple(ids[s] for s in entered)))

    def enter_states(self, transitions: list[Any]) -> list[int]:
        to_enter: set[int] = set()
        default_entry: set[int] = set()
        for t in transitions:
            for s in t.targets:
                self.add_descendants(s, to_enter, default_entry)
            ancestor = self.domains[id(t)]
            for s in self.effective_targets(t.targets):
                self.add_ancestors(s, ancestor, to_enter, default_entry)
        entered = sorted(to_enter)
        skipped: set[int] = set()
        for s in entered:
            # NOTE: the recommendation's enterStates runs onentry for every
            # state in statesToEnter, which can hold a state that is already
            # active when a history target's parent lies above the transition
            # domain. Like Interpreter, this oracle neither enters such a
            # state again nor lists it as entered.
            if s in self.config:
                skipped.add(s)
                continue
            self.config.add(s)
            for action in self.machine.nodes[s].on_entry:
                action(self.ctx)
            if self.kind(s) == _FINAL:
                parent = self.machine.parent[s]
                if parent == 0:
                    self.running = False
                else:
                    self.internal.append(Event(f"done.state.{self.machine.ids[parent]}", type="platform"))
                    grandparent = self.machine.parent[parent]
                    if self.kind(grandparent) == _PARALLEL and all(
                        self.in_final_state(c) for c in self.machine.children[grandparent]
                    ):
                        self.internal.append(
                            Event(f"done.state.{self.machine.ids[grandparent]}", type="platform")
                        )
        return [s for s in entered if s not in skipped]

    def add_descendants(self, state: int, to_enter: set[int], default_entry: set[int]) -> None:
        m = self.machine
        if self.kind(state) == _HISTORY:
            parent = m.parent[state]
            if state in self.history:
                targets: tuple[int, ...] = self.history[state]
            else:
                targets = m.history_default[state].targets
            for s in targets:
                self.add_descendants(s, to_enter, default_entry)
            for s in targets:
                self.add_ancestors(s, parent, to_enter, default_entry)
            return
        to_enter.add(state)
        if self.kind(state) == _COMPOUND:
            default_entry.add(state)
            for s in m.initial[state].targets:
                self.add_descendants(s, to_enter, default_entry)
            for s in m.initial[state].targets:
                self.add_ancestors(s, state, to_enter, default_entry)
        elif self.kind(state) == _PARALLEL:
            for child in m.children[state]:
                if not any(self.is_descendant(s, child) for s in to_enter):
                    self.add_descendants(child, to_enter, default_entry)

    def add_ancestors(self, state: int, ancestor: int | None, to_enter: set[int], default_entry: set[int]) -> None:
        for anc in self.proper_ancestors(state, ancestor):
            if anc == 0:
                break
            to_enter.add(anc)
            if self.kind(anc) == _PARALLEL:
                for child in self.machine.children[anc]:
                    if not any(self.is_descendant(s, child) for s in to_enter):
                        self.add_descendants(child, to_enter, default_entry)

    def in_final_state(self, state: int) -> bool:
        if self.kind(state) == _COMPOUND:
            return any(self.kind(c) == _FINAL and c in self.config for c in self.machine.children[state])
        if self.kind(state) == _PARALLEL:
            return all(self.in_final_state(c) for c in self.machine.children[state])
        return False

    # Event loop.

    def start(self) -> None:
        self.microstep([self.machine.initial[0]])
        self.stabilize()

    def send(self, name: str) -> None:
        event = Event(name)
        self.ctx.event = event
        enabled = self.select(name)
        if enabled:
            self.microstep(enabled)
        self.stabilize()

    def stabilize(self) -> None:
        while self.running:
            enabled = self.select(None)
            if not enabled:
                if not self.internal:
                    return
                event = self.internal.popleft()
                self.ctx.event = event
                enabled = self.select(event.name)
            if enabled:
                self.microstep(enabled)
            if not self.running:
                return

    @property
    def configuration(self) -> frozenset[str]:
        return frozenset(self.machine.ids[s] for s in self.config)
