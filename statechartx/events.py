"""Events and SCXML event descriptor matching.

An event name is a dot-separated list of tokens (``"door.open"``). A transition
lists one or more descriptors; a descriptor matches a name when its tokens are
a prefix of the name's tokens, compared token by token: ``"door"`` matches
``"door"`` and ``"door.open"`` but never ``"doorbell"``. A trailing ``".*"`` or
``"."`` on a descriptor is ignored, and ``"*"`` (or ``".*"``) alone matches
every name.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "Event",
    "make_event",
    "parse_descriptors",
    "descriptor_matches",
    "matches_any",
]


class Event(NamedTuple):
    """An immutable event.

    ``type`` is ``"external"``, ``"internal"`` or ``"platform"`` as in SCXML.
    ``target`` addresses the event to one region of a concurrent parallel
    state; ``None`` broadcasts it. The remaining fields carry the SCXML
    ``_event`` metadata and are ``None`` for events that did not come from a
    ``send`` or an invocation.
    """

    # A NamedTuple is used because building one is a single C call, which
    # keeps Interpreter.send cheap (see perf/bench_engine.py "transition").
    name: str
    data: Any = None
    target: str | None = None
    type: str = "external"
    sendid: str | None = None
    origin: str | None = None
    origintype: str | None = None
    invokeid: str | None = None


_tuple_new = tuple.__new__


def make_event(name: str, data: Any = None) -> Event:
    """Build an external ``Event`` with default metadata, about three times
    faster than ``Event(name, data)``, whose generated ``__new__`` is Python
    code; used on the send paths."""
    return _tuple_new(Event, (name, data, None, "external", None, None, None, None))


def parse_descriptors(spec: str | None) -> tuple[str, ...] | None:
    """Split a transition's event attribute into normalised descriptors.

    Returns ``None`` for an eventless transition and ``("*",)`` when any
    descriptor is a wildcard. Raises ``ValueError`` for an empty descriptor
    list, because a transition that can never fire is a mistake.
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ValueError(f"event descriptor must be a string, got {spec!r}")
    result: list[str] = []
    wildcard = False
    for token in spec.split():
        if token == "*" or token == ".*":
            # ".*" is an empty prefix followed by the wildcard: every name.
            wildcard = True
            continue
        if token.endswith(".*"):
            token = token[:-2]
        token = token.rstrip(".")
        if not token or "*" in token:
            raise ValueError(
                f"invalid event descriptor {token!r} in {spec!r}: use 'name', "
                "'name.*' or '*'"
            )
        result.append(token)
    if wildcard:
        return ("*",)
    if not result:
        raise ValueError(
            f"event attribute {spec!r} lists no descriptor; use None for an "
            "eventless transition"
        )
    return tuple(result)


def descriptor_matches(descriptor: str, name: str) -> bool:
    """Return whether one normalised descriptor matches an event name."""
    if descriptor == "*" or descriptor == name:
        return True
    return name.startswith(descriptor) and name[len(descriptor)] == "."


def matches_any(descriptors: tuple[str, ...], name: str) -> bool:
    """Return whether any of the normalised descriptors matches ``name``."""
    for descriptor in descriptors:
        if descriptor_matches(descriptor, name):
            return True
    return False
