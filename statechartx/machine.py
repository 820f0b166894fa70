"""Machine: validates a chart once and compiles it into flat, shared tables.

Every state gets an integer index in document order (a preorder walk), with
index 0 for the implicit document root that SCXML calls ``<scxml>``. Because
the numbering is a preorder, the descendants of state ``s`` are exactly the
indices ``s < d < end[s]``, so "is a descendant of" is one range check, and
sorting indices sorts states into document order.

A ``Machine`` never changes after construction except for two caches that
are filled on first use (event-name candidates and static entry sets). Both
hold values that any thread computes identically, so a race only duplicates
work; dict item assignment is atomic on the GIL build and internally locked
on free-threaded CPython.

Every walk over the tree is iterative, so a chart 100,000 levels deep
compiles and runs without touching the recursion limit.
"""

from __future__ import annotations

import gc
from array import array
from itertools import islice
from collections.abc import Iterable, Sequence
from typing import Any

from .chart import Final, History, State, StateNode, Transition
from .errors import ChartError
from .events import matches_any, parse_descriptors

__all__ = ["Machine", "CompiledTransition"]

# State kinds, stored as small ints in ``Machine.kind``.
ROOT = 0
ATOMIC = 1
COMPOUND = 2
PARALLEL = 3
FINAL = 4
HISTORY = 5

KIND_NAMES = ("document root", "atomic", "compound", "parallel", "final", "history")

# Block size of the LCA range-minimum structure: a query scans at most two
# partial blocks of this many entries, in C, plus two table lookups.
_LCA_BLOCK = 32

# States with more transitions than this get a descriptor index.
_INDEX_THRESHOLD = 16

# Event names seen by one machine are cached; past this many distinct names
# the cache is cleared so that generated names cannot grow memory forever.
_EVENT_CACHE_LIMIT = 10_000

_EMPTY: tuple[Any, ...] = ()
_MISSING = object()

# Distinct (a, b) pairs memoised by Machine.lca before the memo is cleared.
_LCA_MEMO_LIMIT = 100_000


class CompiledTransition:
    """A transition resolved to state indices.

    ``domain`` is the transition domain (SCXML's ``getTransitionDomain``) when
    it is static, ``None`` for a targetless transition, and -1 when a target
    is a history state, whose effective targets are known only at run time.
    ``order`` is the position in document order over all transitions.
    """

    __slots__ = (
        "order",
        "source",
        "descriptors",
        "guard",
        "actions",
        "targets",
        "internal",
        "domain",
        "has_history_target",
        "spec",
        "entry_cache",
        "chain_plans",
    )

    def __init__(
        self,
        order: int,
        source: int,
        descriptors: tuple[str, ...] | None,
        guard: Any,
        actions: tuple[Any, ...],
        targets: tuple[int, ...],
        internal: bool,
        spec: Transition | None,
    ) -> None:
        self.order = order
        self.source = source
        self.descriptors = descriptors
        self.guard = guard
        self.actions = actions
        self.targets = targets
        self.internal = internal
        self.domain: int | None = None
        self.has_history_target = False
        self.spec = spec
        # Filled lazily by the interpreter: (states to enter, states for
        # default entry, default history actions) when the entry set does not
        # depend on history values; False when it does.
        self.entry_cache: Any = None
        # Filled lazily by the interpreter: for each atomic source state
        # seen while no parallel state was active, a precomputed microstep
        # (see Interpreter._chain_plan), or False when none applies.
        self.chain_plans: dict[int, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"CompiledTransition(order={self.order}, source={self.source}, "
            f"targets={self.targets})"
        )


class Machine:
    """A validated, compiled statechart, immutable and shareable.

    ``root`` is the top state of the chart, or a sequence of top-level states
    (the children of SCXML's ``<scxml>`` element). ``initial`` chooses the
    top-level states entered at start when there are several; it defaults to
    the first. ``binding`` is ``"early"`` (every state's ``datamodel``
    callable runs at start) or ``"late"`` (on the state's first entry).
    ``datamodel`` and ``script`` are callables run at start, before the
    states' datamodels and after them respectively.

    Raises ``ChartError`` naming the state and the fault when the chart is
    invalid; a machine is never half-built.
    """

    def __init__(
        self,
        root: StateNode | Sequence[StateNode],
        *,
        name: str | None = None,
        initial: str | Sequence[str] | Transition | None = None,
        binding: str = "early",
        datamodel: Any = None,
        script: Any = None,
    ) -> None:
        if binding not in ("early", "late"):
            raise ChartError(f"binding must be 'early' or 'late', got {binding!r}")
        for label, fn in (("datamodel", datamodel), ("script", script)):
            if fn is not None and not callable(fn):
                raise ChartError(f"machine {label} must be callable, got {fn!r}")
        if isinstance(root, (State, Final, History)):
            top: tuple[StateNode, ...] = (root,)
        else:
            top = tuple(root)
            if not top:
                raise ChartError("a chart needs at least one state")
        self.name = name
        self.binding = binding
        self.datamodel = datamodel
        self.script = script
        # Building a million-entry table is dominated by the cyclic garbage
        # collector on free-threaded builds (measured 6.7 s with it on, 1.2 s
        # off), and compilation creates no cycles worth collecting.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._compile(top, initial)
        finally:
            if was_enabled:
                gc.enable()

    # ------------------------------------------------------------------
    # Compilation

    def _compile(
        self,
        top: tuple[StateNode, ...],
        initial: str | Sequence[str] | Transition | None,
    ) -> None:
        # 1. Preorder walk over iterators: each frame is (children iterator,
        # parent index, depth, list collecting the parent's child indices).
        # Every node costs a handful of list appends; checks run in bulk
        # afterwards, because a million-state chart must compile in seconds.
        nodes: list[Any] = [None]
        parent: list[int] = [-1]
        kids_of: dict[int, list[int]] = {0: []}
        ends: list[tuple[int, int]] = []
        add_node, add_parent = nodes.append, parent.append
        # Each index int object is created once here and shared by the
        # children lists and the id index, which saves 28 bytes per state.
        stack: list[tuple[Any, int, list[int]]] = [(iter(top), 0, kids_of[0])]
        try:
            while stack:
                it, p, kids = stack[-1]
                for node in it:
                    i = len(nodes)
                    add_node(node)
                    add_parent(p)
                    kids.append(i)
                    children = node.children
                    if children:
                        sub: list[int] = []
                        kids_of[i] = sub
                        stack.append((iter(children), i, sub))
                        break
                else:
                    stack.pop()
                    ends.append((p, len(nodes)))
        except (AttributeError, TypeError):
            _find_bad_node(top)
            raise
        n = len(nodes)

        # 2. Node types, ids, duplicates: one C-level pass each.
        for cls in set(map(type, islice(nodes, 1, None))):
            if not issubclass(cls, (State, Final, History)):
                _find_bad_node(top)
        names: list[Any] = [node.id for node in islice(nodes, 1, None)]
        # Every id is a non-empty string without whitespace exactly when all
        # are truthy and their concatenation splits into itself; that test
        # makes one string instead of one per id.
        try:
            joined = "".join(names)
            well_formed = all(names) and joined.split() == [joined]
        except TypeError:
            well_formed = False
        joined = ""
        if not well_formed:
            for i in range(1, n):
                _check_node(nodes[i], names[parent[i] - 1] if parent[i] else None)
        # The index ints are those of the children lists, in preorder.
        index = dict(zip(names, _preorder_ints(kids_of, n)))
        if len(index) != n - 1:
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ChartError(
                        f"duplicate state id {name!r}: every state id must be "
                        "unique in the chart"
                    )
                seen.add(name)

        # 3. Kinds, subtree ends and children tables.
        kind = [ROOT]
        kind += [_KIND_CODES[node.kind] for node in islice(nodes, 1, None)]
        # An array: subtree ends are large ints, 4 bytes each here instead of
        # a pointer and an int object.
        end = array("i", range(1, n + 1))
        for owner, last in ends:
            end[owner] = last
        end[0] = n
        ids = (None, *names)
        del names
        children_of: list[tuple[int, ...]] = [_EMPTY] * n
        history_of: dict[int, tuple[int, ...]] = {}
        for p, members in kids_of.items():
            k = kind[p]
            if k == FINAL:
                raise ChartError(f"final state {ids[p]!r} must not have children")
            if k == ATOMIC:
                kind[p] = COMPOUND
            regular = [c for c in members if kind[c] != HISTORY]
            children_of[p] = tuple(regular)
            if len(regular) != len(members):
                history_of[p] = tuple(c for c in members if kind[c] == HISTORY)
        del kids_of, ends

        self.ids: tuple[str | None, ...] = ids
        self.index = index
        self.nodes: tuple[Any, ...] = tuple(nodes)
        del nodes
        self.parent: tuple[int, ...] = tuple(parent)
        del parent
        self.kind: tuple[int, ...] = tuple(kind)
        del kind
        self.end: Sequence[int] = end
        self.children: tuple[tuple[int, ...], ...] = tuple(children_of)
        del children_of
        self.history: dict[int, tuple[int, ...]] = history_of
        self.size = n - 1
        self._depth: tuple[int, ...] | None = None
        self._lca: tuple[list[int], list[list[int]]] | None = None
        self._lca_memo: dict[tuple[str, str], str | None] = {}

        kind_t, ids_t = self.kind, ids
        for h_parent, hs in history_of.items():
            if kind_t[h_parent] not in (COMPOUND, PARALLEL):
                h = hs[0]
                raise ChartError(
                    f"history state {ids_t[h]!r} must be the child of a compound "
                    f"or parallel state, but its parent is "
                    f"{_describe(ids_t[h_parent], kind_t[h_parent])}"
                )
            if not self.children[h_parent]:
                what = "region" if kind_t[h_parent] == PARALLEL else "regular child"
                raise ChartError(
                    f"state {ids_t[h_parent]!r} contains only history states; "
                    f"give it at least one {what}"
                )

        for i in [i for i, k in enumerate(self.kind) if k == PARALLEL]:
            if not self.children[i] and i not in history_of:
                raise ChartError(
                    f"parallel state {ids_t[i]!r} has no children; give it at "
                    "least one region"
                )

        self._compile_transitions(initial)

    def _compile_transitions(
        self, initial: str | Sequence[str] | Transition | None
    ) -> None:
        ids, nodes, kind = self.ids, self.nodes, self.kind
        n = len(ids)
        transitions: list[tuple[CompiledTransition, ...]] = [_EMPTY] * n
        eventless: dict[int, tuple[CompiledTransition, ...]] = {}
        initial_of: dict[int, CompiledTransition] = {}
        history_default: dict[int, CompiledTransition] = {}
        datamodels: list[int] = []
        has_invoke = False
        order = 0
        # History defaults without a target fall back to their parent's
        # initial, which preorder guarantees is compiled first.
        self.initial = initial_of

        initial_of[0] = self._compile_initial(0, initial)
        for i in range(1, n):
            node = nodes[i]
            k = kind[i]
            # Most states of a large chart are bare leaves: one attribute
            # test each, and the rest of the loop body is skipped.
            if node.on_entry or node.on_exit:
                _check_callbacks(ids[i], node)
            if k == ATOMIC:
                if not (node.transitions or node.invoke or node.initial is not None or node.datamodel is not None):
                    continue
                if node.initial is not None:
                    raise ChartError(
                        f"atomic state {ids[i]!r} has initial {node.initial!r} "
                        "but no children"
                    )
            elif k == PARALLEL:
                if node.initial is not None:
                    raise ChartError(
                        f"parallel state {ids[i]!r} must not have an initial "
                        f"({node.initial!r}): every region is entered"
                    )
            if k == HISTORY:
                history_default[i] = self._compile_history_default(i)
                continue
            if k == FINAL:
                if node.donedata is not None and not callable(node.donedata):
                    raise ChartError(
                        f"final state {ids[i]!r}: donedata {node.donedata!r} is "
                        "not callable"
                    )
                continue
            if node.datamodel is not None:
                if not callable(node.datamodel):
                    raise ChartError(
                        f"state {ids[i]!r}: datamodel {node.datamodel!r} is not "
                        "callable"
                    )
                datamodels.append(i)
            for inv in node.invoke:
                if not callable(getattr(inv, "start", None)):
                    raise ChartError(
                        f"state {ids[i]!r}: invoke {inv!r} has no callable "
                        "start(ctx) method"
                    )
                has_invoke = True
            if k == COMPOUND:
                initial_of[i] = self._compile_initial(i, node.initial)
            compiled: list[CompiledTransition] = []
            for spec in node.transitions:
                compiled.append(self._compile_transition(i, spec, order))
                order += 1
            if compiled:
                transitions[i] = tuple(compiled)
                free = tuple(t for t in compiled if t.descriptors is None)
                if free:
                    eventless[i] = free

        self.transitions: tuple[tuple[CompiledTransition, ...], ...] = tuple(
            transitions
        )
        self.eventless = eventless
        self.history_default = history_default
        self.datamodel_states: tuple[int, ...] = tuple(datamodels)
        self.datamodel_set = frozenset(datamodels)
        self.up = _up_table(self.parent, self.end, transitions)
        self.eventless_up = (
            _up_table(self.parent, self.end, [eventless.get(i, _EMPTY) for i in range(n)])
            if eventless
            else self.up
        )
        self.has_invoke = has_invoke
        self.transition_count = order
        self._event_cache: dict[str, dict[int, tuple[CompiledTransition, ...]]] = {}
        self._descriptor_index: dict[int, dict[str, list[CompiledTransition]]] = {}
        # Interpreter fast path: leaf state -> event name -> (transition,
        # chain plan), filled only for selections that evaluated no guard.
        self._leaf_plans: dict[int, dict[str, Any]] = {}
        # Interpreter.configuration: leaf -> frozenset of the chain's ids.
        self._chain_snapshots: dict[int, frozenset[str]] = {}

    def _resolve_targets(self, source: int, targets: Iterable[str], what: str) -> tuple[int, ...]:
        resolved = []
        for target in targets:
            if not isinstance(target, str):
                raise ChartError(
                    f"state {self._name(source)}: {what} target {target!r} must "
                    "be a state id string"
                )
            j = self.index.get(target)
            if j is None:
                raise ChartError(
                    f"state {self._name(source)}: {what} target {target!r} is "
                    "not a state in this chart"
                )
            resolved.append(j)
        return tuple(resolved)

    def _compile_transition(self, source: int, spec: Transition, order: int) -> CompiledTransition:
        name = self._name(source)
        if not isinstance(spec, Transition):
            raise ChartError(f"state {name}: {spec!r} is not a Transition")
        try:
            descriptors = parse_descriptors(spec.event)
        except ValueError as exc:
            raise ChartError(f"state {name}: {exc}") from None
        if spec.guard is not None and not callable(spec.guard):
            raise ChartError(f"state {name}: guard {spec.guard!r} is not callable")
        for fn in spec.action:
            if not callable(fn):
                raise ChartError(
                    f"state {name}: transition action {fn!r} is not callable"
                )
        targets = self._resolve_targets(source, spec.target, "transition")
        t = CompiledTransition(
            order, source, descriptors, spec.guard, spec.action, targets,
            spec.internal, spec,
        )
        self._set_domain(t)
        return t

    def _compile_initial(
        self, state: int, initial: str | Sequence[str] | Transition | None
    ) -> CompiledTransition:
        actions: tuple[Any, ...] = _EMPTY
        if initial is None:
            if state == 0:
                targets: tuple[int, ...] = (self.children[0][0],)
            else:
                targets = (self.children[state][0],)
        else:
            if isinstance(initial, Transition):
                if initial.event is not None or initial.guard is not None:
                    raise ChartError(
                        f"state {self._name(state)}: an initial transition takes "
                        "neither event nor guard"
                    )
                for fn in initial.action:
                    if not callable(fn):
                        raise ChartError(
                            f"state {self._name(state)}: initial action {fn!r} is "
                            "not callable"
                        )
                names: Sequence[str] = initial.target
                actions = initial.action
            elif isinstance(initial, str):
                names = initial.split()
            else:
                names = tuple(initial)
            if not names:
                raise ChartError(f"state {self._name(state)}: initial names no state")
            targets = self._resolve_targets(state, names, "initial")
            for j in targets:
                if not self.is_descendant_index(j, state):
                    raise ChartError(
                        f"state {self._name(state)}: initial {self.ids[j]!r} is "
                        "not a descendant of it"
                    )
        t = CompiledTransition(-1, state, None, None, actions, targets, True, None)
        t.domain = state
        return t

    def _compile_history_default(self, h: int) -> CompiledTransition:
        node = self.nodes[h]
        p = self.parent[h]
        default = node.default
        actions: tuple[Any, ...] = _EMPTY
        if default is None:
            if self.kind[p] == PARALLEL:
                fallback = self.children[p]
            else:
                fallback = self.initial_targets(p)
            t = CompiledTransition(-1, h, None, None, _EMPTY, fallback, True, None)
            t.domain = p
            return t
        if isinstance(default, Transition):
            for fn in default.action:
                if not callable(fn):
                    raise ChartError(
                        f"history state {self.ids[h]!r}: default action {fn!r} "
                        "is not callable"
                    )
            names: Sequence[str] = default.target
            actions = default.action
        elif isinstance(default, str):
            names = default.split()
        else:
            names = tuple(default)
        targets = self._resolve_targets(h, names, "history default")
        for j in targets:
            if not self.is_descendant_index(j, p):
                raise ChartError(
                    f"history state {self.ids[h]!r}: default target "
                    f"{self.ids[j]!r} is not a descendant of its parent "
                    f"{self.ids[p]!r}"
                )
        t = CompiledTransition(-1, h, None, None, actions, targets, True, None)
        t.domain = p
        return t

    def initial_targets(self, state: int) -> tuple[int, ...]:
        """Return the default entry targets of a compound state (indices)."""
        init = self.initial.get(state)
        if init is not None:
            return init.targets
        return (self.children[state][0],)

    def _set_domain(self, t: CompiledTransition) -> None:
        if not t.targets:
            t.domain = None
            return
        kind = self.kind
        if any(kind[j] == HISTORY for j in t.targets):
            t.has_history_target = True
            t.domain = -1
            return
        t.domain = self.transition_domain(t.source, t.targets, t.internal)

    def transition_domain(self, source: int, targets: Sequence[int], internal: bool) -> int:
        """Return SCXML's transition domain for a source and effective targets."""
        if internal and self.kind[source] == COMPOUND:
            s, e = source, self.end[source]
            if all(s < j < e for j in targets):
                return source
        return self.lcca_index((source, *targets))

    # ------------------------------------------------------------------
    # Ancestry

    def is_descendant_index(self, state: int, ancestor: int) -> bool:
        """Return whether ``state`` is a proper descendant of ``ancestor``."""
        return ancestor < state < self.end[ancestor]

    @property
    def depth(self) -> tuple[int, ...]:
        """Depth of every state (the document root is 0), computed on first use."""
        depth = self._depth
        if depth is None:
            parent = self.parent
            values = [0] * len(parent)
            for i in range(1, len(parent)):
                values[i] = values[parent[i]] + 1
            depth = self._depth = tuple(values)
        return depth

    def _build_lca(self) -> tuple[list[int], list[list[int]]]:
        # Range-minimum structure over the preorder: for u < v where u is not
        # an ancestor of v, the shallowest state in the preorder range
        # (u, v] is a child of their LCA. Keys pack (depth, index) into one
        # int so that min() compares both at C speed. Built on the first
        # query, since compilation and the interpreter never need it; two
        # threads racing build equal structures and one tuple assignment
        # publishes either.
        n = len(self.ids)
        keys = [d * n + i for i, d in enumerate(self.depth)]
        block = _LCA_BLOCK
        level = [min(keys[i : i + block]) for i in range(0, n, block)]
        table = [level]
        width = 1
        while 2 * width <= len(level):
            previous = table[-1]
            table.append(
                [min(previous[i], previous[i + width]) for i in range(len(previous) - width)]
            )
            width *= 2
        self._lca = (keys, table)
        return self._lca

    def lca_index(self, a: int, b: int) -> int:
        """Return the lowest common ancestor of two indices, each counting as
        its own ancestor."""
        if a == b:
            return a
        if a > b:
            a, b = b, a
        if b < self.end[a]:
            return a
        keys, table = self._lca or self._build_lca()
        lo, hi = a + 1, b
        block = _LCA_BLOCK
        first, last = lo // block, hi // block
        if first == last:
            best = min(keys[lo : hi + 1])
        else:
            best = min(min(keys[lo : (first + 1) * block]), min(keys[last * block : hi + 1]))
            if first + 1 < last:
                j = (last - first - 1).bit_length() - 1
                row = table[j]
                best = min(best, row[first + 1], row[last - (1 << j)])
        return self.parent[best % len(keys)]

    def lcca_index(self, states: Sequence[int]) -> int:
        """Return SCXML's LCCA: the nearest compound (or document root) proper
        ancestor of every given state.

        Walks up from the first state, so it costs the distance to the
        result, which for transitions is usually a level or two.
        """
        parent, end, kind = self.parent, self.end, self.kind
        rest = states[1:]
        ancestor = parent[states[0]]
        while ancestor > 0:
            if kind[ancestor] == COMPOUND and all(ancestor < s < end[ancestor] for s in rest):
                return ancestor
            ancestor = parent[ancestor]
        return 0

    def _index_of(self, state_id: str) -> int:
        i = self.index.get(state_id)
        if i is None:
            raise ChartError(f"unknown state id {state_id!r}: not in this chart")
        return i

    def lca(self, a: str, b: str) -> str | None:
        """Return the id of the least common ancestor of states ``a`` and ``b``.

        A state counts as its own ancestor, so ``lca(p, child_of_p) == p``.
        Returns ``None`` when the only common ancestor is the document root.
        A query costs O(1): two table lookups and scans of at most 64
        entries, after a first query builds the table in O(n log n / 32);
        repeated pairs are returned from a bounded memo.
        """
        memo = self._lca_memo
        result = memo.get((a, b), _MISSING)
        if result is _MISSING:
            result = self.ids[self.lca_index(self._index_of(a), self._index_of(b))]
            if len(memo) >= _LCA_MEMO_LIMIT:
                memo.clear()
            memo[(a, b)] = result
        return result  # type: ignore[return-value]

    def lcca(self, *states: str) -> str | None:
        """Return the id of SCXML's least common compound ancestor.

        That is the nearest state that is compound and a proper ancestor of
        every given state; ``None`` stands for the document root.
        """
        if not states:
            raise ChartError("lcca() needs at least one state id")
        return self.ids[self.lcca_index([self._index_of(s) for s in states])]

    def ancestors(self, state_id: str) -> tuple[str, ...]:
        """Return the ids of the proper ancestors of a state, nearest first."""
        result = []
        p = self.parent[self._index_of(state_id)]
        while p > 0:
            result.append(self.ids[p])
            p = self.parent[p]
        return tuple(result)

    # ------------------------------------------------------------------
    # Queries used by the interpreter

    def candidates(self, state: int, name: str) -> tuple[CompiledTransition, ...]:
        """Return the transitions of ``state`` whose event matches ``name``,
        in document order (cached per event name)."""
        per_state = self._event_cache.get(name)
        if per_state is None:
            if len(self._event_cache) >= _EVENT_CACHE_LIMIT:
                self._event_cache = {}
            per_state = self._event_cache.setdefault(name, {})
        result = per_state.get(state)
        if result is None:
            transitions = self.transitions[state]
            if len(transitions) > _INDEX_THRESHOLD:
                result = self._indexed_candidates(state, name)
            else:
                result = tuple(
                    t
                    for t in transitions
                    if t.descriptors is not None and matches_any(t.descriptors, name)
                )
            per_state[state] = result
        return result

    def _indexed_candidates(self, state: int, name: str) -> tuple[CompiledTransition, ...]:
        # A state with many transitions (a root with one per child, say)
        # gets an index from descriptor to transitions, so that a new event
        # name costs one lookup per dot-separated prefix instead of a scan.
        index = self._descriptor_index.get(state)
        if index is None:
            index = {}
            for t in self.transitions[state]:
                for descriptor in t.descriptors or ():
                    index.setdefault(descriptor, []).append(t)
            self._descriptor_index[state] = index
        found: dict[int, CompiledTransition] = {}
        for t in index.get("*", ()):
            found[t.order] = t
        prefix = ""
        for token in name.split("."):
            prefix = f"{prefix}.{token}" if prefix else token
            for t in index.get(prefix, ()):
                found[t.order] = t
        return tuple(found[order] for order in sorted(found))

    def state_kind(self, state_id: str) -> str:
        """Return the kind of a state: atomic, compound, parallel, final or history."""
        return KIND_NAMES[self.kind[self._index_of(state_id)]]

    def _name(self, i: int) -> str:
        return repr(self.ids[i]) if i else "<document root>"

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Machine{label} states={self.size} transitions={self.transition_count}>"


def _up_table(
    parent: Sequence[int], end: Sequence[int], transitions: Sequence[Sequence[Any]]
) -> array:
    # Per state, the nearest ancestor-or-self that has transitions (0 for
    # none), so that selection in a deep chain skips empty levels. Filling
    # each such state's subtree range (in preorder, so deeper states
    # overwrite) runs in C; a chart where that would touch many states more
    # than once, like a deep chain with transitions at every level, takes
    # the per-state loop instead.
    n = len(parent)
    table = array("i", bytes(4 * n))
    owners = [i for i in range(1, n) if transitions[i]]
    if sum(end[i] - i for i in owners) <= 4 * n:
        for i in owners:
            table[i : end[i]] = array("i", [i]) * (end[i] - i)
    else:
        for i in range(1, n):
            table[i] = i if transitions[i] else table[parent[i]]
    return table


def _describe(state_id: str | None, kind: int) -> str:
    if state_id is None:
        return "the document root"
    return f"the {KIND_NAMES[kind]} state {state_id!r}"


def _preorder_ints(kids_of: dict[int, list[int]], n: int) -> list[int]:
    """Return the index ints 1..n-1 in order, reusing the objects stored in
    the children lists."""
    ints: list[int] = [0] * n
    for members in kids_of.values():
        for i in members:
            ints[i] = i
    return ints[1:]


_KIND_CODES = {
    "state": ATOMIC,
    "parallel": PARALLEL,
    "final": FINAL,
    "history": HISTORY,
}


def _check_callbacks(state_id: str, node: Any) -> None:
    for label, fns in (("on_entry", node.on_entry), ("on_exit", node.on_exit)):
        for fn in fns:
            if not callable(fn):
                raise ChartError(
                    f"state {state_id!r}: {label} action {fn!r} is not callable"
                )


def _find_bad_node(top: Sequence[Any]) -> None:
    """Raise ChartError for the first child that is not a state node."""
    stack: list[tuple[Any, str | None]] = [(node, None) for node in reversed(top)]
    while stack:
        node, parent_id = stack.pop()
        _check_node(node, parent_id)
        for child in reversed(getattr(node, "children", _EMPTY)):
            stack.append((child, node.id))


def _check_node(node: Any, parent_id: str | None) -> str:
    where = f" (child of {parent_id!r})" if parent_id else ""
    if not isinstance(node, (State, Final, History)):
        raise ChartError(
            f"{node!r}{where} is not a State, Parallel, Final or History"
        )
    node_id = node.id
    if not isinstance(node_id, str) or not node_id or node_id.split() != [node_id]:
        raise ChartError(
            f"invalid state id {node_id!r}{where}: use a non-empty string "
            "without whitespace"
        )
    return node_id

