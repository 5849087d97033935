"""The replay engine: asyncio workers per target, a rate budget, the cache, batched writes, cancellation.

Results are committed as they arrive (at most FLUSH_SECONDS behind), so a killed replay loses only
the calls in flight, and running it again calls only what is missing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modtui.domain.incident import Item
from modtui.domain.prompt import PromptTemplate
from modtui.domain.target import Target
from modtui.domain.verdict import ErrorType, Outcome, Verdict
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.render import MAX_CONTENT_CHARS, Messages
from modtui.providers.base import PlainVerdict, Provider, Reply, Request, plain_reply
from modtui.providers.registry import provider_class
from modtui.replay.budget import Budget, reserve, settle
from modtui.replay.cachekey import cache_key
from modtui.replay.events import RunProgress
from modtui.replay.pacing import Pacer
from modtui.replay.parsing import parse_reply, unknown_rules
from modtui.replay.ratelimit import RateLimiter
from modtui.replay.requests import Context, keyed_requests, render_item
from modtui.replay.workers import POOL_SLICE, Ahead, HeadStart, cores, decide, open_pool
from modtui.secrets import Scrubber, key_for
from modtui.store import runs as q
from modtui.store.db import Store
from modtui.store.records import CachedReply
from modtui.timeutil import now_iso

if TYPE_CHECKING:  # the process pool's modules load with the first pool (not for a replay that makes calls)
    import concurrent.futures
    from concurrent.futures import ProcessPoolExecutor

FLUSH_SECONDS = 0.2
FLUSH_ROWS = 500
CACHE_CHUNK = 2000  # items rendered and looked up in the cache at a time
LOCAL_SLICE = 256  # items a local provider decides between two turns of the loop (a few ms: the writer and a
# cancellation get their turn, so results are committed as they are produced)
_CUT = Messages("", "", truncated=True)  # a local provider's item read in part: recorded with the truncation note
STOPS_TARGET = frozenset(
    {ErrorType.AUTH, ErrorType.CONFIG}
)  # replies that end every run of their target: no item can succeed
# Bump when rendering a prompt, reading a reply or building its result changes what a result holds: an unchanged
# re-run is served from the last run's results (services.replay.items_digest) only under the same version.
RESULTS_VERSION = "1"


@dataclass
class Job:
    """One run: a target × prompt over the items that still lack a result."""

    run_id: int
    target: Target
    prompt: LoadedPrompt
    todo: list[Item]
    progress: RunProgress
    dead: str | None = None  # set when the target cannot go on (bad key): the reason
    # extra template values per item (e.g. {"precedents": ...}), built by the service; the engine stays generic
    context: Context | None = None
    repeat: int = 1  # `replay --repeat N`: repeats 2..N call again (never the cache) and are kept with their index
    budgets: tuple[Budget, ...] = ()  # spending caps the run is under (replay.budget)
    estimate: Callable[[Messages], float] | None = None  # a call's expected cost, reserved in `budgets` before it
    stopped_budget: bool = False  # set when a budget stopped the run's calls


@dataclass
class _Pending:
    rows: list[dict[str, Any]] = field(default_factory=list)
    cache: list[dict[str, Any]] = field(default_factory=list)
    repeats: list[dict[str, Any]] = field(default_factory=list)
    first_at: float | None = None


class Engine:
    def __init__(
        self,
        store: Store,
        scrubber: Scrubber,
        *,
        use_cache: bool = True,
        concurrency: int | None = None,
        on_progress: Callable[[RunProgress], None] | None = None,
        head_start: HeadStart | None = None,
    ) -> None:
        self.store = store
        self.head_start = head_start  # a local target's slices decided while the replay was planned (replay.workers)
        self.scrub = scrubber
        self.use_cache = use_cache
        self.concurrency = concurrency
        self.on_progress = on_progress or (lambda _p: None)
        self._pending = _Pending()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()  # FLUSH_ROWS results wait: the writer need not wait out FLUSH_SECONDS
        self._all_jobs: list[Job] = []
        self._writing: asyncio.Future[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._vocabularies: dict[int, frozenset[str]] = {}  # id(template) → its rule vocabulary (templates live
        # as long as the jobs that hold them)
        self._target_keys: dict[str, str] = {}  # target name → config_key(), computed once per replay

    async def execute(self, jobs: list[Job]) -> None:
        """Run every job; on cancellation keep what finished, then re-raise."""
        self._all_jobs = jobs
        self._target_keys = {j.target.name: j.target.config_key() for j in jobs}
        providers = {
            t.name: provider_class(t.provider)(t, key_for(t)) for t in {j.target.name: j.target for j in jobs}.values()
        }
        for progress in {id(j.progress): j.progress for j in jobs if j.progress.done}.values():
            self.on_progress(progress)  # what the log already holds (resumed, or served from it) shows at once
        writer = self._writer_task = asyncio.create_task(self._writer())
        work = asyncio.ensure_future(self._work_all(jobs, providers))
        try:
            await asyncio.wait({work, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer.done() and not writer.cancelled() and writer.exception() is not None:
                work.cancel()  # the log refuses writes: stop calling (and paying for) what cannot be kept
                await asyncio.gather(work, return_exceptions=True)
                raise writer.exception()  # type: ignore[misc]
            await work
        finally:
            work.cancel()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            handed = self._writing  # a batch the cancelled writer handed to its thread: let it land
            if handed is not None:
                await _settled(handed, raising=False)
            try:
                failure = _failure(writer) or _failure(handed)  # a refused write is never swallowed
                if failure is not None:
                    raise failure
                await _settled(asyncio.ensure_future(asyncio.to_thread(self._write, self._take())))
            finally:
                await asyncio.gather(*(p.aclose() for p in providers.values()), return_exceptions=True)

    # -- scheduling -------------------------------------------------------------------------------

    async def _work_all(self, jobs: list[Job], providers: dict[str, Provider]) -> None:
        await self._serve_from_cache(jobs, providers)
        await asyncio.gather(
            *(
                self._target_pool(name, provider, [j for j in jobs if j.target.name == name])
                for name, provider in providers.items()
            )
        )

    async def _target_pool(self, name: str, provider: Provider, jobs: list[Job]) -> None:
        target = jobs[0].target if jobs else None
        if target is None:
            return
        if provider.local:
            await self._local_pool(provider, jobs)
            return
        if any(job.todo for job in jobs):  # calls to make (the cache answered the rest): the SDK loads in a thread
            await asyncio.to_thread(provider.prepare)
        limiter = RateLimiter(target.requests_per_minute, burst=min(target.concurrency, 4))
        work = self._work(jobs)
        size = self.concurrency or target.concurrency
        pacer = Pacer(size)
        await asyncio.gather(*(self._worker(provider, limiter, pacer, work) for _ in range(size)))

    def _work(self, jobs: list[Job]) -> Iterator[tuple[Job, Item]]:
        """Lazily interleave jobs' items so baseline and candidate progress together."""
        iterators = [(job, iter(job.todo)) for job in jobs]
        while iterators:
            for pair in list(iterators):
                job, items = pair
                item = next(items, None) if not job.dead else None
                if item is None:
                    iterators.remove(pair)
                    continue
                yield job, item

    async def _local_pool(self, provider: Provider, jobs: list[Job]) -> None:
        """A local provider decides slices of items in turn (baseline and candidate progress together); each slice
        is recorded like any reply, and the loop turns between slices so the writer commits as it goes. A big
        replay's slices are decided in worker processes, one per core (replay.workers), and recorded in order."""
        head = self.head_start if self.head_start and self.head_start.target == provider.target.name else None
        pool = head.pool if head is not None else open_pool(sum(len(job.todo) for job in jobs))
        size = LOCAL_SLICE if pool is None else head.size if head is not None else POOL_SLICE
        slices = [
            (job, start, job.todo[start : start + size])
            for start in range(0, max((len(j.todo) for j in jobs), default=0), size)
            for job in jobs
            if start < len(job.todo)
        ]
        if pool is None:
            for job, _, chunk in slices:
                if not job.dead:
                    self._record_local(job, chunk, _decide_here(provider, job, chunk))
                    await self._turn()
            return
        try:
            await self._decide_in(pool, provider, slices, head)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    async def _decide_in(
        self,
        pool: ProcessPoolExecutor,
        provider: Provider,
        slices: list[tuple[Job, int, list[Item]]],
        head: HeadStart | None = None,
    ) -> None:
        """Keep every worker busy (two slices each in flight) and record the replies in the slices' order. A worker
        that dies (killed, out of memory) breaks the pool: this process decides the slices it had and the rest.
        A slice the head start decided already (the same contents under the same prompt version) is not sent."""
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        waiting = iter(slices)
        in_flight: collections.deque[tuple[Job, list[Item], asyncio.Future[list[Reply | PlainVerdict]] | None]] = (
            collections.deque()
        )
        broken = False

        def send() -> None:
            nonlocal broken
            for job, start, chunk in waiting:
                if job.dead:
                    continue
                future = None
                if not broken:
                    contents = [item.content[:MAX_CONTENT_CHARS] for item in chunk]
                    ahead = head.take(job.prompt.version, start, len(chunk)) if head is not None else None
                    try:
                        future = (
                            asyncio.ensure_future(_taken(head, ahead, pool, provider, job, contents))
                            if head is not None and ahead is not None
                            else loop.run_in_executor(pool, decide, provider, job.prompt.template, contents)
                        )
                    except BrokenProcessPool:
                        broken = True
                in_flight.append((job, chunk, future))
                return

        try:
            for _ in range(2 * cores()):
                send()
            while in_flight:
                job, chunk, future = in_flight.popleft()
                replies: Sequence[Reply | PlainVerdict]
                try:
                    replies = await future if future is not None else _decide_here(provider, job, chunk)
                except BrokenProcessPool:
                    broken = True
                    replies = _decide_here(provider, job, chunk)
                except Exception as exc:  # noqa: BLE001  an adapter bug must not lose the run: a typed result
                    replies = [Reply(error_type=ErrorType.INTERNAL, error=f"{type(exc).__name__}: {exc}")] * len(chunk)
                send()
                self._record_local(job, chunk, replies)
                await self._turn()
        finally:
            for _job, _chunk, future in in_flight:  # cancelled: what is in flight is not recorded (nor waited for)
                if future is not None:
                    future.cancel()

    def _record_local(self, job: Job, chunk: list[Item], replies: Sequence[Reply | PlainVerdict]) -> None:
        """A slice's replies, recorded in order. The plain verdicts a worker sent as PlainVerdict tuples are recorded
        without a Reply or Verdict each: their rows are the row `_record` builds for such a reply (made once for the
        slice, from the first of them) with the item's own values put in, and the progress moves once."""
        recorded_at = now_iso()  # one slice is decided at one moment
        template: dict[str, Any] | None = None
        vocabulary = self._vocabulary(job.prompt.template)
        cited: dict[tuple[str, ...], tuple[str, str]] = {}  # rules → their JSON and the unknown ones': a slice cites
        plain, last = 0, None  # the same few sets again and again
        for item, reply in zip(chunk, replies):
            cut = _CUT if len(item.content) > MAX_CONTENT_CHARS else None  # the result says it was cut
            if not isinstance(reply, tuple):
                self._record(job, item.id, cut, reply, cached=False, at=recorded_at)
                continue
            if cut is not None or job.repeat > 1:
                self._record(job, item.id, cut, plain_reply(reply), cached=False, at=recorded_at)
                continue
            if template is None:
                template = self._result(job, "", None, plain_reply(reply), cached=False, key=None, at=recorded_at)[1]
            label, confidence, rationale, rules, latency_ms = reply
            names = cited.get(rules)
            if names is None:
                names = cited[rules] = (_json_names(rules), _json_names(unknown_rules(rules, vocabulary)))
            row = template.copy()
            row.update(
                item_id=item.id,
                label=label,
                confidence=confidence,
                rationale=_safe(self.scrub, rationale),
                latency_ms=latency_ms,
                rules_json=names[0],
                unknown_rules_json=names[1],
            )
            self._pending.rows.append(row)
            plain, last = plain + 1, (item.id, reply)
        if last is not None:
            self._pending.first_at = self._pending.first_at or time.monotonic()
            self._wake.set()
            if len(self._pending.rows) + len(self._pending.repeats) >= FLUSH_ROWS:
                self._full.set()
            progress = job.progress
            progress.done, progress.fresh = progress.done + plain, progress.fresh + plain
            progress.last_item_id, progress.last_verdict = last[0], plain_reply(last[1]).verdict
            self.on_progress(progress)

    async def _turn(self) -> None:
        """Between two slices: the loop turns, and a batch that is due is taken by the writer first."""
        await asyncio.sleep(0)
        while self._full.is_set() and self._writing is None and self._writer_task and not self._writer_task.done():
            await asyncio.sleep(0)

    async def _worker(
        self, provider: Provider, limiter: RateLimiter, pacer: Pacer, work: Iterator[tuple[Job, Item]]
    ) -> None:
        for job, item in work:
            if job.dead or job.stopped_budget:
                continue
            messages = self._render_safely(job, item)
            if isinstance(messages, Reply):  # the prompt could not be rendered for this item: no call
                self._record(job, item.id, Messages("", ""), messages, cached=False)
                continue
            estimate = job.estimate(messages) if job.budgets and job.estimate else 0.0
            if not reserve(job.budgets, estimate):
                self._stop_spent_budgets()
                continue
            try:
                await limiter.acquire()
                await pacer.wait()
                reply = await self._call(provider, job, item, messages)
            except BaseException:  # cancelled while waiting for its turn or in flight: nothing spent
                settle(job.budgets, estimate, 0.0)
                raise
            pacer.observe(reply.latency_ms and reply.latency_ms / 1000)
            settle(
                job.budgets,
                estimate,
                job.target.cost(reply.tokens_in, reply.tokens_out, reply.cache_read_tokens, reply.cache_write_tokens),
            )
            if reply.error_type in STOPS_TARGET:  # the key or the configuration failed, not the item: the run
                self._kill_target(job, reply)  # records why (failed) and the item stays missing, so the same
                continue  # replay once fixed resumes the run and calls it
            self._record(job, item.id, messages, reply, cached=False)

    async def _call(self, provider: Provider, job: Job, item: Item, messages: Messages) -> Reply:
        request = Request(messages, item.content, job.prompt.template, job.target.params)
        try:
            return await provider.complete(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  an adapter bug must not lose the run: record it as a typed result
            return Reply(error_type=ErrorType.INTERNAL, error=f"{type(exc).__name__}: {exc}")

    def _kill_target(self, job: Job, reply: Reply) -> None:
        env = job.target.api_key_env
        if reply.error_type is ErrorType.AUTH:
            reason = (
                f"authentication failed for target '{job.target.name}'"
                + (f" (check ${env})" if env else "")
                + f": {self.scrub(reply.error)}"
            )
        else:
            reason = (
                f"target '{job.target.name}' is misconfigured (model '{job.target.model}', params in "
                f"modtui.toml); the provider said: {self.scrub(reply.error)}"
            )
        for other in self._jobs_of(job.target.name):
            if not other.dead:
                other.dead = reason
                other.progress.message = reason

    def _stop_spent_budgets(self) -> None:
        """No new call for any run under a budget that is spent (calls in flight finish and are kept)."""
        for other in self._all_jobs:
            if any(b.exhausted for b in other.budgets) and not other.stopped_budget:
                other.stopped_budget = True
                other.progress.message = "stopped: the cost cap is reached"

    def _jobs_of(self, target_name: str) -> list[Job]:
        return [j for j in self._all_jobs if j.target.name == target_name]

    # -- cache --------------------------------------------------------------------------------------

    async def _serve_from_cache(self, jobs: list[Job], providers: dict[str, Provider]) -> None:
        """Record every item whose reply is cached, CACHE_CHUNK items at a time: a 100k-item run never holds all
        its rendered prompts at once, and the writer commits while the next chunk is looked up."""
        if not self.use_cache:
            return
        for job in jobs:
            if not providers[job.target.name].cacheable or not job.todo or job.repeat > 1:
                continue
            served: set[str] = set()
            target_key = self._target_keys.get(job.target.name)
            for start in range(0, len(job.todo), CACHE_CHUNK):
                chunk = job.todo[start : start + CACHE_CHUNK]
                requests = keyed_requests(job.target, job.prompt.template, chunk, job.context, target_key=target_key)
                keys = {key: (item, messages) for key, item, messages in requests}
                hits = await asyncio.to_thread(self._lookup, list(keys))
                for key, row in hits.items():
                    item, messages = keys[key]
                    self._record(job, item.id, messages, _reply_from_cache(row), cached=True, key=key)
                    served.add(item.id)
            if served:
                job.todo = [item for item in job.todo if item.id not in served]

    def _lookup(self, keys: list[str]) -> dict[str, CachedReply]:
        with self.store.connect() as conn:
            return q.cached(conn, keys)

    # -- results ------------------------------------------------------------------------------------

    def _render_safely(self, job: Job, item: Item) -> Messages | Reply:
        """Prompts are trial-rendered on load, so this is rare; a failure is that item's result, not the run's end."""
        try:
            return render_item(job.prompt.template, item, job.context)
        except Exception as exc:  # noqa: BLE001  e.g. a template error only some items' meta can trigger
            return Reply(
                error_type=ErrorType.BAD_REQUEST, error=f"template could not be rendered: {type(exc).__name__}: {exc}"
            )

    def _key(self, job: Job, messages: Messages) -> str:
        return cache_key(
            job.target, messages, job.prompt.template.output_schema, target_key=self._target_keys.get(job.target.name)
        )

    def _record(
        self,
        job: Job,
        item_id: str,
        messages: Messages | None,
        reply: Reply,
        *,
        cached: bool,
        key: str | None = None,
        at: str | None = None,
    ) -> None:
        """`messages` is None for a local provider's reply: nothing was rendered, nothing is cached."""
        if key is None and messages is not None:
            key = self._key(job, messages)
        try:
            verdict, row = self._result(job, item_id, messages, reply, cached=cached, key=key, at=at)
        except Exception as exc:  # noqa: BLE001 - no reply, however odd, ends the replay: it is this item's result
            reply = Reply(
                error_type=ErrorType.BAD_RESPONSE,
                error=f"the reply could not be read: {type(exc).__name__}: {exc}",
                latency_ms=reply.latency_ms,
                raw=_as_text(reply.raw),
            )
            verdict, row = self._result(job, item_id, messages, reply, cached=cached, key=key, at=at)
        if job.repeat > 1:
            self._pending.repeats.append({**row, "repeat": job.repeat})
        else:
            self._pending.rows.append(row)
        if key is not None and job.repeat == 1 and not cached and not reply.failed and reply.verdict is None:
            self._pending.cache.append(_cache_row(key, self._target_keys[job.target.name], reply, self.scrub))
        self._pending.first_at = self._pending.first_at or time.monotonic()
        self._wake.set()
        if len(self._pending.rows) + len(self._pending.repeats) >= FLUSH_ROWS:
            self._full.set()
        self._advance(job.progress, verdict, cached, item_id)

    def _result(
        self,
        job: Job,
        item_id: str,
        messages: Messages | None,
        reply: Reply,
        *,
        cached: bool,
        key: str | None,
        at: str | None = None,
    ) -> tuple[Verdict, dict[str, Any]]:
        template = job.prompt.template
        verdict = parse_reply(reply, template.labels, template.label_synonyms, template.output)
        row = _result_row(job, item_id, reply, verdict, self.scrub, cached=cached, key=key, at=at)
        row["unknown_rules_json"] = _json_names(unknown_rules(verdict.rules, self._vocabulary(template)))
        if messages is not None and messages.truncated:
            row["detail"] = ((row["detail"] or "") + " [content truncated for the prompt]").strip()
        return verdict, row

    def _vocabulary(self, template: PromptTemplate) -> frozenset[str]:
        """The template's rule vocabulary, built once per prompt of the replay rather than once per result."""
        vocabulary = self._vocabularies.get(id(template))
        if vocabulary is None:
            vocabulary = self._vocabularies[id(template)] = template.rule_vocabulary()
        return vocabulary

    def _advance(self, progress: RunProgress, verdict: Verdict, cached: bool, item_id: str) -> None:
        progress.done += 1
        progress.last_item_id, progress.last_verdict = item_id, verdict
        progress.cached += cached
        progress.fresh += not cached
        if verdict.outcome is not Outcome.LABEL:
            progress.errors[verdict.error_type or verdict.outcome.value] += 1
        self.on_progress(progress)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            first = self._pending.first_at
            if first is not None and len(self._pending.rows) < FLUSH_ROWS:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), max(0.0, FLUSH_SECONDS - (time.monotonic() - first)))
            self._full.clear()
            # the batch is taken here, on the loop, so no row can be appended to it while a thread writes it
            self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, self._take()))
            await asyncio.shield(self._writing)
            self._writing = None

    def _take(self) -> _Pending:
        pending, self._pending = self._pending, _Pending()
        return pending

    def _write(self, pending: _Pending) -> None:
        if not pending.rows and not pending.cache and not pending.repeats:
            return
        with self.store.transaction() as conn:
            q.insert_results(conn, pending.rows, pending.cache, pending.repeats)


async def _taken(
    head: HeadStart,
    ahead: concurrent.futures.Future[Ahead],
    pool: ProcessPoolExecutor,
    provider: Provider,
    job: Job,
    contents: list[str],
) -> list[Reply | PlainVerdict]:
    """A slice's replies from the head start, if the worker decided exactly `contents` (the checked items'); else
    the rest of the head start is abandoned and the slice is decided again."""
    decided, replies = await asyncio.wrap_future(ahead)
    if decided == contents:
        return replies
    head.abandon()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, decide, provider, job.prompt.template, contents)


def _decide_here(provider: Provider, job: Job, chunk: list[Item]) -> list[Reply]:
    """A local provider's replies to a slice, decided in this process."""
    try:  # what a model would be sent of each item, no more: a 50 MB post costs what 100,000 characters cost
        return provider.decide_many(job.prompt.template, [item.content[:MAX_CONTENT_CHARS] for item in chunk])
    except Exception as exc:  # noqa: BLE001  an adapter bug must not lose the run: a typed result
        return [Reply(error_type=ErrorType.INTERNAL, error=f"{type(exc).__name__}: {exc}")] * len(chunk)


async def _settled(future: asyncio.Future[None], *, raising: bool = True) -> None:
    """Wait for `future` even if this task is cancelled meanwhile (a write handed to a thread cannot be called
    back: the log must hold it before the runs get their status), then re-raise the cancellation or its error."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = cancelled or not future.done()
        except Exception:  # noqa: BLE001  the future failed: its error is read (and raised) just below
            break
    error = None if future.cancelled() else future.exception()
    if raising and error is not None:
        raise error
    if cancelled:
        raise asyncio.CancelledError


def _failure(future: asyncio.Future[None] | None) -> BaseException | None:
    """The exception a finished future ended with (not its cancellation)."""
    if future is None or not future.done() or future.cancelled():
        return None
    return future.exception()


def _text(value: object) -> str | None:
    """Replies are untrusted: NUL is replaced (PostgreSQL refuses it in text)."""
    value = _as_text(value)
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


def _safe(scrub: Scrubber, value: object) -> str | None:
    """Untrusted reply text as stored: text, keys masked, NUL replaced."""
    if value is None:
        return None
    return _text(scrub(_as_text(value)))


def _as_text(value: object) -> str | None:
    """A reply field that should be text but is not (an adapter's bug, an odd server): its JSON, never a crash."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=repr)


def _result_row(
    job: Job,
    item_id: str,
    reply: Reply,
    verdict: Verdict,
    scrub: Scrubber,
    *,
    cached: bool,
    key: str | None,
    at: str | None = None,
) -> dict[str, Any]:
    return {
        "run_id": job.run_id,
        "item_id": item_id,
        "outcome": verdict.outcome.value,
        "label": verdict.label,
        "confidence": verdict.confidence,
        "rationale": _safe(scrub, verdict.rationale),
        "error_type": verdict.error_type.value if verdict.error_type else None,
        "detail": _safe(scrub, verdict.detail),
        "raw_text": _safe(scrub, reply.text if reply.text is not None else reply.raw),
        "finish_reason": _text(reply.finish_reason),
        "tokens_in": reply.tokens_in,
        "tokens_out": reply.tokens_out,
        "latency_ms": None if cached else reply.latency_ms,
        "cost_usd": 0.0
        if cached or not (reply.tokens_in or reply.tokens_out or reply.cache_read_tokens or reply.cache_write_tokens)
        else job.target.cost(reply.tokens_in, reply.tokens_out, reply.cache_read_tokens, reply.cache_write_tokens),
        "cached": cached,
        "cache_key": key,
        "created_at": at or now_iso(),
        **_provenance(reply, scrub),
        "rules_json": _json_names(verdict.rules),
    }


@functools.lru_cache(maxsize=4096)
def _json_names(names: tuple[str, ...]) -> str:
    """A verdict's cited rule names as the log stores them (a replay cites the same few sets again and again)."""
    return json.dumps(list(names), ensure_ascii=False)


def _provenance(reply: Reply, scrub: Scrubber) -> dict[str, Any]:
    """What answered: the model id and fingerprint the reply names, and its prompt-cache tokens."""
    return {
        "answered_model": _safe(scrub, reply.model),
        "system_fingerprint": _safe(scrub, reply.system_fingerprint),
        "cache_read_tokens": reply.cache_read_tokens,
        "cache_write_tokens": reply.cache_write_tokens,
    }


def _cache_row(key: str, target_key: str, reply: Reply, scrub: Scrubber) -> dict[str, Any]:
    return {
        "key": key,
        "target_key": target_key,
        "text": _safe(scrub, reply.text),
        "refusal": _safe(scrub, reply.refusal),
        "finish_reason": _text(reply.finish_reason),
        "tokens_in": reply.tokens_in,
        "tokens_out": reply.tokens_out,
        "raw_json": _safe(scrub, reply.raw),
        "created_at": now_iso(),
        **_provenance(reply, scrub),
    }


def _reply_from_cache(row: CachedReply) -> Reply:
    return Reply(
        text=row.text,
        finish_reason=row.finish_reason,
        refusal=row.refusal,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        raw=row.raw_json,
        model=row.answered_model,
        system_fingerprint=row.system_fingerprint,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
    )
