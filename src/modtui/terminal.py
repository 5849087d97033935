"""The one way a string from a file, a provider or a person reaches a terminal.

Control characters (C0, DEL, C1) and bidi marks, overrides and isolates are shown as visible
escapes (`\x1b`, `\x9b`, `\u202e`), so no escape sequence (OSC 52, cursor moves, title changes)
and no reordering reaches the screen.
Printable text, emoji and ZWJ sequences are left as written.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_STAND_INS: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_STAND_INS |= {c: f"\\u{c:04x}" for c in _BIDI}
_KEEP_LINES = {k: v for k, v in _STAND_INS.items() if k not in (0x0A, 0x09)}
# For JSON text (json.dumps already escapes C0 inside strings; these can only occur inside strings).
JSON_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in (0x7F, *range(0x80, 0xA0), *_BIDI)}


def printable(value: str, *, keep_lines: bool = False) -> str:
    """`value` with control, C1 and bidi characters replaced by visible stand-ins
    (newlines and tabs kept when `keep_lines`)."""
    return value.translate(_KEEP_LINES if keep_lines else _STAND_INS)


def one_line(value: str) -> str:
    """`value` on one line: runs of whitespace (newlines included) become one space, then made printable."""
    return printable(" ".join(value.split()))
