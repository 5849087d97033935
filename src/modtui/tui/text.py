"""Untrusted content made inert for the terminal: no control characters, no escapes, no markup."""
from __future__ import annotations

from rich.text import Text

_BIDI = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_INERT = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}
_INERT |= {c: "\ufffd" for c in range(0x80, 0xA0)} | {c: f"<U+{c:04X}>" for c in _BIDI}
_KEEP_LINES = {k: v for k, v in _INERT.items() if k not in (0x0A, 0x09)}


def inert(value: str, *, keep_lines: bool = False) -> str:
    """Control characters (ESC, CR, C1, bidi overrides) replaced by visible stand-ins."""
    return value.translate(_KEEP_LINES if keep_lines else _INERT)


def preview(value: str, width: int = 80) -> Text:
    """One line of content for a table cell."""
    flat = inert(" ".join(value.split()))
    return Text(flat if len(flat) <= width else flat[: width - 1] + "…", no_wrap=True)


def plain(value: str) -> Text:
    """Text that is shown as written (markup is not interpreted), newlines kept."""
    return Text(inert(value, keep_lines=True))
