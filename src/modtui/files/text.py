"""Read a text file as UTF-8, turning every failure into a located problem."""
from __future__ import annotations

from pathlib import Path

from modtui.errors import InputError, Problem


def read_text(path: Path, display: str | None = None) -> str:
    """Return the file's text (BOM stripped, CRLF kept for callers that count lines)."""
    shown = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem(shown, "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(shown, "is a directory, expected a file")) from None
    except OSError as exc:
        raise InputError(Problem(shown, f"cannot read: {exc.strerror}")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            Problem(shown, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line, col)
        ) from None
    return text.removeprefix("\ufeff")
