"""Read a text file as UTF-8, turning every failure into a located problem."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from modtui.errors import InputError, Problem

BOM = "\ufeff"


def read_text(path: Path, display: str | None = None) -> str:
    """Return the file's text (BOM stripped, CRLF kept for callers that count lines)."""
    shown = display or str(path)
    with _open(path, shown) as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _not_utf8(shown, data[exc.start], line, col) from None
    return text.removeprefix(BOM)


def iter_lines(path: Path, display: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, line) streamed, split on LF only, CR before it dropped, BOM stripped: what
    `jsonl_lines(read_text(path))` gives, without the whole file in memory."""
    shown = display or str(path)
    with _open(path, shown) as handle:
        number = 0
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(shown, raw[exc.start], number, exc.start + 1) from None
            if number == 1:
                line = line.removeprefix(BOM)
            yield number, line.removesuffix("\n").removesuffix("\r")
        if number == 0 or raw.endswith(b"\n"):  # the empty last line after a final LF, as str.split gives
            yield number + 1, ""


@contextmanager
def open_text(path: Path, display: str | None = None) -> Iterator[io.TextIOWrapper]:
    """The file as a UTF-8 text stream with newline="" (what the csv module wants), BOM stripped; a decoding
    error while reading is raised as a located InputError."""
    shown = display or str(path)
    with _open(path, shown) as handle:
        try:
            yield io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        except UnicodeDecodeError:
            for _ in iter_lines(path, shown):  # find the line and column of the bad byte
                pass
            raise


@contextmanager
def _open(path: Path, shown: str) -> Iterator[BinaryIO]:
    from modtui.files.paths import check_regular

    check_regular(path, shown)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(Problem(shown, "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(shown, "is a directory, expected a file")) from None
    except OSError as exc:
        raise InputError(Problem(shown, f"cannot read: {exc.strerror}")) from None
    with handle:
        yield handle


def _not_utf8(shown: str, byte: int, line: int, col: int) -> InputError:
    return InputError(Problem(shown, f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8", line, col))
