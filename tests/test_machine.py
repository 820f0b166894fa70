"""Machine tables and tree queries: lca, lcca, ancestors, state_kind."""

from __future__ import annotations

import itertools

import pytest

from helpers import naive_lca, naive_lcca
from statechartx import ChartError, Final, History, Machine, Parallel, State, Transition

pytestmark = pytest.mark.timeout(30)


def sample_machine() -> Machine:
    """A hand-made tree with every kind of state.

    root
      a            compound
        a1         compound
          a11, a12 atomic
        a2         atomic
        ha         history (of a)
      p            parallel
        r1         compound: x1, y1
        r2         compound: x2, q (parallel: q1, q2)
      f            final
    other          second top-level state
    """
    return Machine(
        [
            State(
                "root",
                children=[
                    State(
                        "a",
                        children=[
                            State("a1", children=[State("a11"), State("a12")]),
                            State("a2"),
                            History("ha"),
                        ],
                    ),
                    Parallel(
                        "p",
                        children=[
                            State("r1", children=[State("x1"), State("y1")]),
                            State(
                                "r2",
                                children=[
                                    State("x2"),
                                    Parallel("q", children=[State("q1"), State("q2")]),
                                ],
                            ),
                        ],
                    ),
                    Final("f"),
                ],
            ),
            State("other"),
        ]
    )


def test_ids_document_order() -> None:
    m = sample_machine()
    assert m.ids[0] is None
    assert m.ids[1:] == (
        "root", "a", "a1", "a11", "a12", "a2", "ha", "p", "r1", "x1", "y1",
        "r2", "x2", "q", "q1", "q2", "f", "other",
    )
    assert all(m.index[s] == i for i, s in enumerate(m.ids) if s is not None)
    assert m.parent[m.index["root"]] == 0
    assert m.parent[m.index["other"]] == 0
    assert m.parent[m.index["q1"]] == m.index["q"]


def test_children_exclude_history() -> None:
    m = sample_machine()
    a = m.index["a"]
    assert [m.ids[c] for c in m.children[a]] == ["a1", "a2"]
    assert [m.ids[h] for h in m.history[a]] == ["ha"]
    assert [m.ids[c] for c in m.children[0]] == ["root", "other"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("a11", "a11", "a11"),
        ("a11", "a12", "a1"),
        ("a12", "a11", "a1"),
        ("a11", "a2", "a"),
        ("a1", "a11", "a1"),
        ("a11", "a1", "a1"),
        ("root", "q2", "root"),
        ("x1", "x2", "p"),
        ("x1", "q1", "p"),
        ("q1", "q2", "q"),
        ("r2", "q2", "r2"),
        ("a11", "f", "root"),
        ("ha", "a2", "a"),
        ("a11", "other", None),
        ("other", "root", None),
        ("root", "root", "root"),
    ],
)
def test_lca_cases(a: str, b: str, expected: str | None) -> None:
    m = sample_machine()
    assert m.lca(a, b) == expected
    assert m.lca(a, b) == naive_lca(m, a, b)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (("a11", "a12"), "a1"),
        (("a11", "a2"), "a"),
        (("a11",), "a1"),
        (("a1",), "a"),
        (("a",), "root"),
        (("a1", "a11"), "a"),
        (("a11", "a1"), "a"),
        (("x1", "y1"), "r1"),
        # p is parallel, so the LCCA of two regions skips it.
        (("x1", "x2"), "root"),
        (("r1", "r2"), "root"),
        (("q1", "q2"), "r2"),
        (("q1",), "r2"),
        (("x2", "q1"), "r2"),
        (("p",), "root"),
        (("root",), None),
        (("root", "a11"), None),
        (("a11", "other"), None),
        (("other",), None),
        (("a11", "a12", "a2", "a1"), "a"),
    ],
)
def test_lcca_cases(states: tuple[str, ...], expected: str | None) -> None:
    m = sample_machine()
    assert m.lcca(*states) == expected
    assert m.lcca(*states) == naive_lcca(m, list(states))


def test_lca_exhaustive() -> None:
    m = sample_machine()
    ids = [s for s in m.ids if s is not None]
    for a, b in itertools.product(ids, repeat=2):
        assert m.lca(a, b) == naive_lca(m, a, b), (a, b)
        assert m.lcca(a, b) == naive_lcca(m, [a, b]), (a, b)


def test_lca_unknown_id() -> None:
    m = sample_machine()
    with pytest.raises(ChartError, match="'nope'"):
        m.lca("a", "nope")
    with pytest.raises(ChartError, match="'nope'"):
        m.lcca("nope")
    with pytest.raises(ChartError, match="at least one"):
        m.lcca()


def test_ancestors() -> None:
    m = sample_machine()
    assert m.ancestors("q1") == ("q", "r2", "p", "root")
    assert m.ancestors("a11") == ("a1", "a", "root")
    assert m.ancestors("ha") == ("a", "root")
    assert m.ancestors("root") == ()
    assert m.ancestors("other") == ()
    with pytest.raises(ChartError):
        m.ancestors("nope")


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("root", "compound"),
        ("a", "compound"),
        ("a11", "atomic"),
        ("ha", "history"),
        ("p", "parallel"),
        ("q", "parallel"),
        ("r1", "compound"),
        ("f", "final"),
        ("other", "atomic"),
    ],
)
def test_state_kind(state: str, kind: str) -> None:
    assert sample_machine().state_kind(state) == kind


def test_lca_long_chain_blocks() -> None:
    # Depth 200 and a sibling at every level cross many range-minimum
    # blocks, so both the in-block scan and the sparse table are used.
    depth = 200
    node = State(f"s{depth - 1}", children=[State(f"leaf{depth - 1}")])
    for i in range(depth - 2, -1, -1):
        node = State(f"s{i}", children=[State(f"leaf{i}"), node])
    m = Machine(node)
    for i, j in [(0, 199), (5, 150), (31, 32), (63, 64), (100, 101), (3, 3), (199, 0)]:
        expected = f"s{min(i, j)}"
        assert m.lca(f"leaf{i}", f"leaf{j}") == (f"leaf{i}" if i == j else expected)
        assert m.lca(f"leaf{i}", f"s{j}") == naive_lca(m, f"leaf{i}", f"s{j}")


def test_transition_domain_tables() -> None:
    chart = State(
        "root",
        children=[
            State(
                "c",
                children=[State("c1"), State("c2")],
                transitions=[
                    Transition("int", "c2", internal=True),
                    Transition("ext", "c2"),
                    Transition("self", "c", internal=True),
                    Transition("none"),
                ],
            ),
            Parallel(
                "p",
                children=[State("r1"), State("r2")],
                transitions=[Transition("pint", "r1", internal=True)],
            ),
        ],
    )
    m = Machine(chart)
    c = m.index["c"]
    p = m.index["p"]
    root = m.index["root"]
    domains = {t.spec.event: t.domain for t in m.transitions[c]}
    assert domains == {"int": c, "ext": root, "self": root, "none": None}
    # internal=True is ignored on a parallel source: it is not compound.
    assert m.transitions[p][0].domain == root
    assert m.transition_count == 5


def test_machine_repr() -> None:
    assert repr(Machine(State("a"), name="demo")) == "<Machine 'demo' states=1 transitions=0>"
