"""Worker processes for a local provider's big replays: its slices of items decided on every core.

A local provider (the rules baseline) decides in the CPU, so one process uses one core. When a replay hands it at
least POOL_MIN_ITEMS items and the machine has more than one core, the engine forks one worker per core and sends
them the slices; the replies come back in order and are recorded, committed and resumed exactly as in-process
ones (Engine._local_pool). Workers are forked (Linux) so they start in milliseconds with modtui already imported;
where fork is not the platform's way, replays stay in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modtui.domain.prompt import PromptTemplate
from modtui.domain.verdict import Outcome
from modtui.prompts.render import MAX_CONTENT_CHARS
from modtui.providers.base import PlainVerdict, Provider, Reply

if TYPE_CHECKING:  # loaded with the first pool: a replay that makes calls never needs them
    from concurrent.futures import Future, ProcessPoolExecutor

POOL_MIN_ITEMS = 4_096  # below this a replay decides in a fraction of a second in-process (a judgement, not a
# measured break-even: forking and starting the workers costs tens of milliseconds)
POOL_SLICE = 256  # items per task sent to a worker: ~15 ms of work, so a result waits little for its slice
# Workers yield to this process: it checks the incident, writes it into the log and records every verdict, and the
# replay ends when it is done (a head start's workers run while it checks). On two cores the scheduler then keeps it
# on a core of its own and the workers share the other and whatever it leaves.
WORKER_NICE = 5


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def open_pool(items: int) -> ProcessPoolExecutor | None:
    """One worker process per core for `items` items, or None: decide them in this process. The workers fork at
    the first task submitted (all of them: fork is not safe to do later, from the pool's thread)."""
    workers = cores()
    if items < POOL_MIN_ITEMS or workers < 2 or sys.platform != "linux":
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),))


#: What a worker decided ahead for a slice of lines: the contents it read from them (None: they are not items with a
#: text content, one to a line) and their replies.
Ahead = tuple[list[str] | None, list["Reply | PlainVerdict"]]


class HeadStart:
    """Slices of an incident's items file decided in the workers while this process still checks the incident and
    writes it into the log (services.head_start): each worker reads the contents of its slice of the lines it
    inherited and decides them under the production prompt. The engine takes a slice (`take`) where its own slice
    starts at the same item under the same prompt version, and records the verdicts only if the contents the worker
    read are exactly the checked items' (Engine._decide_in); a slice it does not take is cancelled with the pool."""

    def __init__(
        self,
        pool: ProcessPoolExecutor,
        provider: Provider,
        template: PromptTemplate,
        version: str,
        lines: list[str],
        size: int = POOL_SLICE,
    ) -> None:
        global _SHARED
        self.pool, self.target, self.version, self.lines, self.size = (
            pool,
            provider.target.name,
            version,
            len(lines),
            size,
        )
        _SHARED = lines  # the workers fork at the first submit, holding the lines (nothing is copied or pickled) ...
        try:
            self._slices: dict[int, Future[Ahead]] = {
                start: pool.submit(decide_lines, provider, template, start, start + size)
                for start in range(0, len(lines), size)
            }
        finally:
            _SHARED = ()  # ... and this process lets go of them: it holds the checked items from now on

    def take(self, version: str, start: int, count: int) -> Future[Ahead] | None:
        """The slice decided ahead from line `start` when the engine's slice of `count` items from item `start` under
        prompt `version` can be it."""
        if version != self.version or count != min(self.size, self.lines - start):
            return None
        future = self._slices.pop(start, None)
        return None if future is None or future.cancelled() else future

    def abandon(self) -> None:
        """The items checked are not the lines read ahead: the slices not taken would be decided for nothing."""
        for future in self._slices.values():
            future.cancel()
        self._slices.clear()

    def close(self) -> None:
        """Stop the workers (what they have not decided is cancelled); idempotent."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def decide(provider: Provider, template: PromptTemplate, contents: Sequence[str]) -> list[Reply | PlainVerdict]:
    """What a worker runs for one slice (a module-level function: it is sent to the worker by name): each reply,
    as a PlainVerdict tuple when it is a plain verdict (most are), else as it is."""
    return [
        compact(reply) if isinstance(reply, Reply) else reply for reply in provider.decide_plain(template, contents)
    ]


def compact(reply: Reply) -> Reply | PlainVerdict:
    """A reply that is only a label verdict (finish reason stop, no text, tokens, error or provenance) as a PlainVerdict
    tuple; any other reply unchanged."""
    verdict = reply.verdict
    if (
        verdict is None
        or verdict.outcome is not Outcome.LABEL
        or verdict.error_type is not None
        or verdict.detail is not None
        or reply != Reply(finish_reason="stop", verdict=verdict, latency_ms=reply.latency_ms)
    ):
        return reply
    return (verdict.label, verdict.confidence, verdict.rationale, verdict.rules, reply.latency_ms)


_SHARED: Sequence[str] = ()  # in a worker: the lines of the items file it inherited (HeadStart)


def decide_lines(provider: Provider, template: PromptTemplate, start: int, stop: int) -> Ahead:
    """The contents of the inherited lines start:stop (each one JSON object, as items.jsonl holds them) as a prompt
    holds them, and `decide` of them; (None, []) when the lines are not that."""
    lines = _SHARED[start:stop]
    try:
        rows = json.loads("[" + ",".join(lines) + "]")  # one call into the C decoder
    except (ValueError, RecursionError):
        return None, []
    if len(rows) != len(lines) or not all(
        isinstance(row, dict) and isinstance(row.get("content"), str) for row in rows
    ):
        return None, []
    contents = [row["content"][:MAX_CONTENT_CHARS] for row in rows]
    return contents, decide(provider, template, contents)


def _start_worker(parent: int) -> None:
    """A worker ends with the replay: Ctrl-C is the parent's to handle (the parent shuts the pool down), and a
    killed parent takes its workers with it (no orphan holding the terminal or a caller's pipes)."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(parent)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the parent's stdout may be a caller's pipe: a worker must not keep it open
        os.dup2(devnull, fd)
    os.close(devnull)


def _die_with(parent: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills this worker when the parent dies
    except (OSError, AttributeError):  # pragma: no cover - no prctl: an orphan waits, holding no pipe of the caller
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)
