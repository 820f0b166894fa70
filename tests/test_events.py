"""Event records and SCXML event descriptor matching."""

from __future__ import annotations

import pytest

from statechartx import ChartError, Event, Interpreter, Machine, State, Transition
from statechartx.events import descriptor_matches, matches_any, parse_descriptors

pytestmark = pytest.mark.timeout(30)


def matches(spec: str, name: str) -> bool:
    descriptors = parse_descriptors(spec)
    assert descriptors is not None
    return matches_any(descriptors, name)


@pytest.mark.parametrize(
    ("spec", "name", "expected"),
    [
        ("foo", "foo", True),
        ("foo", "foo.bar", True),
        ("foo", "foo.bar.baz", True),
        ("foo", "foobar", False),
        ("foo", "foobar.baz", False),
        ("foo", "fo", False),
        ("foo", "bar.foo", False),
        ("foo", "", False),
        ("foo.bar", "foo.bar", True),
        ("foo.bar", "foo.bar.baz", True),
        ("foo.bar", "foo", False),
        ("foo.bar", "foo.barbaz", False),
        ("foo.bar", "foo.baz", False),
        ("foo.*", "foo", True),
        ("foo.*", "foo.bar", True),
        ("foo.*", "foobar", False),
        ("foo.", "foo", True),
        ("foo.", "foo.bar", True),
        ("foo.", "foobar", False),
        ("*", "anything", True),
        ("*", "a.b.c", True),
        ("*", "error.execution", True),
        ("error", "error.execution", True),
        ("done.state", "done.state.s1", True),
        ("done.state.s1", "done.state.s10", False),
    ],
)
def test_descriptor_token_prefix(spec: str, name: str, expected: bool) -> None:
    assert matches(spec, name) is expected


@pytest.mark.parametrize(
    ("spec", "name", "expected"),
    [
        ("a b c", "b", True),
        ("a b c", "c.x", True),
        ("a b c", "d", False),
        ("a b c", "ab", False),
        ("a.* b.", "b.z", True),
        ("a.* b.", "a", True),
        ("x *", "whatever", True),
    ],
)
def test_descriptor_list_any(spec: str, name: str, expected: bool) -> None:
    assert matches(spec, name) is expected


def test_parse_descriptors_normalises() -> None:
    assert parse_descriptors(None) is None
    assert parse_descriptors("foo") == ("foo",)
    assert parse_descriptors("foo.*") == ("foo",)
    assert parse_descriptors("foo.") == ("foo",)
    assert parse_descriptors("a.b.* c") == ("a.b", "c")
    assert parse_descriptors("a  \t b") == ("a", "b")
    assert parse_descriptors("a * b") == ("*",)


@pytest.mark.parametrize("spec", ["", "   ", "foo*", "*foo", "a.*.b", "a b*", "**", "."])
def test_parse_descriptors_invalid(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_descriptors(spec)


def test_parse_descriptors_invalid_after_star() -> None:
    with pytest.raises(ValueError):
        parse_descriptors("* foo*")


def test_parse_descriptors_non_string() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_descriptors(42)  # type: ignore[arg-type]


def test_descriptor_matches_single() -> None:
    assert descriptor_matches("foo", "foo")
    assert descriptor_matches("foo", "foo.x")
    assert not descriptor_matches("foo", "foox")
    assert descriptor_matches("*", "")


@pytest.mark.parametrize("spec", ["foo*", "", "a.*.b"])
def test_transition_invalid_descriptor(spec: str) -> None:
    with pytest.raises(ChartError, match="'a'"):
        Machine(State("a", transitions=[Transition(spec, target="a")]))


def test_event_defaults() -> None:
    event = Event("door.open")
    assert event.name == "door.open"
    assert event.data is None
    assert event.target is None
    assert event.type == "external"
    assert event.sendid is None
    assert event.origin is None
    assert event.origintype is None
    assert event.invokeid is None


def test_event_immutable() -> None:
    event = Event("x", {"k": 1})
    with pytest.raises(AttributeError):
        event.name = "y"  # type: ignore[misc]
    assert event._replace(name="y") == Event("y", {"k": 1})
    assert event == Event("x", {"k": 1})


def test_event_fields_in_context() -> None:
    seen: list[Event] = []

    def keep(ctx):
        seen.append(ctx.event)

    def raise_internal(ctx):
        ctx.raise_event("inner", {"n": 2})

    chart = State(
        "a",
        transitions=[
            Transition("outer", action=[keep, raise_internal]),
            Transition("inner", action=keep),
        ],
    )
    interp = Interpreter(Machine(chart))
    interp.start()
    interp.send("outer", {"n": 1})

    assert [e.name for e in seen] == ["outer", "inner"]
    assert seen[0].data == {"n": 1}
    assert seen[0].type == "external"
    assert seen[1].data == {"n": 2}
    assert seen[1].type == "internal"


def test_event_matching_in_machine() -> None:
    log: list[str] = []
    chart = State(
        "a",
        transitions=[
            Transition("foo", action=lambda ctx: log.append("foo:" + ctx.event.name)),
            Transition("*", action=lambda ctx: log.append("any:" + ctx.event.name)),
        ],
    )
    interp = Interpreter(Machine(chart))
    interp.start()
    for name in ("foo", "foo.bar", "foobar", "x"):
        interp.send(name)
    assert log == ["foo:foo", "foo:foo.bar", "any:foobar", "any:x"]
