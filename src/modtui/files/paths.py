"""Names and paths that files and arguments give: a file name every system can hold, and a path that stays
inside the workspace once symlinks are followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modtui.errors import InputError, Problem, UsageError

MAX_NAME_BYTES = 255  # the common file-name limit (ext4, APFS, NTFS in UTF-16 units)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a file or folder name on every system, or None."""
    # names Windows reserves in every folder, with or without an extension (a workspace shared through git must
    # check out there too): the domain's list, imported here (its models load pydantic, which `inside` needs not)
    from modtui.domain.incident import RESERVED_NAMES

    if name.split(".", 1)[0].upper() in RESERVED_NAMES:
        return f"'{name.split('.', 1)[0]}' is a name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
    if len(os.fsencode(name)) > MAX_NAME_BYTES - 8:  # room for the extension modtui adds
        return f"longer than {MAX_NAME_BYTES - 8} bytes, the file-name limit"
    return None


def inside(root: Path, path: Path, shown: str) -> Path:
    """`path` with symlinks followed, when that is inside `root`; else a UsageError naming `shown`."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise UsageError(Problem(shown, f"cannot be used as a path: {getattr(exc, 'strerror', None) or exc}")) from None
    if not resolved.is_relative_to(root.resolve()):
        raise UsageError(
            Problem(
                shown,
                "resolves outside the workspace (after following symlinks); modtui reads and writes only inside it",
            )
        )
    return resolved


def is_file(path: Path) -> bool:
    """Path.is_file, False (not an exception) for a name the system refuses (too long, bad bytes)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def check_regular(path: Path, shown: str) -> None:
    """An InputError unless `path` (after symlinks) is a regular file: a FIFO would block a read for ever and
    a device (/dev/zero, /dev/random) never ends."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(Problem(shown, "file not found")) from None
    except OSError as exc:
        raise InputError(Problem(shown, f"cannot read: {exc.strerror}")) from None
    if stat.S_ISDIR(mode):
        raise InputError(Problem(shown, "is a directory, expected a file"))
    if not stat.S_ISREG(mode):
        raise InputError(Problem(shown, "is not a regular file (a device, FIFO or socket); modtui reads only files"))
