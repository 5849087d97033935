"""The cyclic garbage collector, paused while objects that live as long as the process are made in bulk."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block; as before after it.

    Importing modules makes classes, functions and schemas by the hundred thousand, all kept for the life of the
    process: each collection among them walks them again only to find no garbage. Paused, importing `modtui
    replay`'s services costs ~0.08 s less CPU, and importing the SDK with its client ~0.08 s less (bench/replay.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
