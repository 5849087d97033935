"""The cyclic garbage collector: paused while objects that live as long as the process are made in bulk, and spared
what lives as long as a replay (its modules and plan frozen out of its sight)."""

from __future__ import annotations

import atexit
import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def paused(*, keep: bool = False) -> Iterator[None]:
    """No collection inside the block; as before after it.

    Importing modules makes classes, functions and schemas by the hundred thousand, all kept for the life of the
    process: each collection among them walks them again only to find no garbage. Paused, importing `modtui
    replay`'s services costs ~0.08 s less CPU, and importing the SDK with its client ~0.08 s less (bench/replay.py).

    With `keep`, what is alive at the end of the block is frozen out of the collector's sight before it runs again
    (gc.freeze): everything made while it was paused is young, and the first collection after the block walked it
    all (27-39 ms, twice before a replay's first call). Only for what lives as long as the process: a garbage cycle
    alive then is never collected (collector_spared unfreezes at its end)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def collector_spared() -> Iterator[Callable[[], None]]:
    """The cyclic garbage collector spared what lives as long as the replay: it is paused while the plan is made
    (loading the incident makes no cycles, but its tens of thousands of objects set off full collections), then the
    modules and the plan (the incident's items) are frozen out of its sight and it runs for the replay's new objects.
    Each full collection walked them all again: about a fifth of the CPU of a 25,000-item offline replay
    (bench/offline.py). Call the function yielded once the plan is made; all is as before after the block."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    _spare_at_exit()

    def planned() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield planned
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


@functools.cache
def _spare_at_exit() -> None:
    """At the exit of a process that replayed, everything alive is frozen before the interpreter's last full
    collections, which would walk the incident's items once more only to find no garbage (~0.1-0.2 s of an
    unchanged 25,000-item re-run). What is alive then is freed all the same; only cycles left unreferenced are
    not collected, and the process is ending."""
    atexit.register(gc.freeze)
