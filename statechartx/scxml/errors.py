"""The error raised for an SCXML document that cannot be loaded."""

from __future__ import annotations

from ..errors import ChartError

__all__ = ["ScxmlError"]


class ScxmlError(ChartError):
    """An SCXML document is malformed or uses something unsupported.

    The message starts with ``file:line:`` and names the element, the fault
    and the fix. ``file``, ``line`` and ``element`` are also attributes
    (``None`` where unknown), for tools that point into the document.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        where = file or "<string>"
        if line is not None:
            where = f"{where}:{line}"
        if element is not None:
            message = f"<{element}>: {message}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.element = element
