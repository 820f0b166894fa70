"""XML parsing that keeps line numbers, on the standard library's expat.

``xml.etree.ElementTree`` drops positions, and every error message of the
reader must point at a line of the document, so the tree is built here from
expat callbacks. Elements are ``ElementTree`` elements with two extra
attributes: ``line`` (the line of the start tag) and ``text_line`` (the line
where the element's text starts, for ``<script>`` bodies).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from .errors import ScxmlError

__all__ = ["SCXML_NS", "Node", "parse_xml", "local_name", "namespace_of"]

SCXML_NS = "http://www.w3.org/2005/07/scxml"


class Node(ET.Element):
    """An element that remembers where it was in the document."""

    line: int = 0
    text_line: int = 0


def local_name(tag: str) -> str:
    """Return a tag without its ``{namespace}`` prefix."""
    return tag.rsplit("}", 1)[-1]


def namespace_of(tag: str) -> str | None:
    """Return the namespace URI of a tag, or None for an unqualified tag."""
    if tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return None


def _qualify(name: str) -> str:
    # expat with a namespace separator reports "uri local" for qualified names.
    uri, sep, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if sep else name


class _Builder:
    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.last: Node | None = None  # last closed child of the top element

    def start(self, name: str, attrs: dict[str, str]) -> None:
        node = Node(_qualify(name), {_qualify(k): v for k, v in attrs.items()})
        node.line = self.parser.CurrentLineNumber
        if self.stack:
            self.stack[-1].append(node)
        else:
            self.root = node
        self.stack.append(node)
        self.last = None

    def end(self, name: str) -> None:
        self.last = self.stack.pop()

    def data(self, text: str) -> None:
        if not self.stack:
            return
        if self.last is not None:
            self.last.tail = (self.last.tail or "") + text
            return
        top = self.stack[-1]
        if top.text is None:
            top.text = text
            top.text_line = self.parser.CurrentLineNumber
        else:
            top.text += text


def parse_xml(source: str | bytes, filename: str | None) -> Node:
    """Parse a document and return its root element.

    Raises ``ScxmlError`` with the line and column of the first XML error.
    """
    if isinstance(source, str) and source.startswith("\ufeff"):
        source = source[1:]
    parser = expat.ParserCreate(namespace_separator=" ")
    builder = _Builder(parser)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(source, True)
    except expat.ExpatError as exc:
        raise ScxmlError(
            f"not well-formed XML: {expat.ErrorString(exc.code)} at column "
            f"{exc.offset + 1}; fix the markup",
            file=filename,
            line=exc.lineno,
        ) from None
    assert builder.root is not None  # expat rejects a document without one
    return builder.root
