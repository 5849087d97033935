"""Batch replays: a replay plan's calls submitted through provider Batch APIs; results polled in later.

`submit` serves what it can from the cache (as a live replay would), sends the rest as one provider
batch per target (split at the provider's limit), records the batches and their requests in the log,
marks the runs `submitted` and returns. `poll` asks the provider about every submitted batch; for each
that ended it writes the results through the replay engine's own recording (verdict parsing, cache rows,
batch-discounted costs), marks the batch ended, and once every batch of a target's runs has ended it
finishes those runs as a live replay does (metrics, flips, a timeline event).

Polling again, or after a crash, writes nothing twice: results and cache rows are inserted with
ON CONFLICT DO NOTHING, a batch is marked ended only after its results, and a run is finished only by
the poll that moved it from `submitted` (under the log's write lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modtui.domain.run import BatchStatus, RunStatus
from modtui.domain.target import Target
from modtui.domain.verdict import ErrorType
from modtui.errors import Problem, UsageError
from modtui.prompts.loader import LoadedPrompt, parse_prompt
from modtui.providers.base import Reply, Request
from modtui.providers.batch import BatchProvider, BatchState, batch_provider_class
from modtui.providers.registry import provider_class
from modtui.replay.engine import FLUSH_ROWS, Engine, Job
from modtui.replay.events import RunProgress
from modtui.replay.requests import render_item
from modtui.secrets import Scrubber, key_for
from modtui.services import golden
from modtui.services import replay as replay_svc
from modtui.services.incidents import load_and_sync
from modtui.services.targets import recorded_target
from modtui.store import batches as bq
from modtui.store import runs as q
from modtui.store.incidents import add_event
from modtui.store.records import BatchRecord, BatchRequestRecord, RunRecord
from modtui.workspace import Workspace


@dataclass
class BatchView:
    """A provider batch as the CLI shows it."""

    id: int
    provider_batch_id: str
    target: str
    status: BatchStatus
    provider_status: str | None
    requests: int
    run_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.id,
            "provider_batch_id": self.provider_batch_id,
            "target": self.target,
            "status": self.status,
            "provider_status": self.provider_status,
            "requests": self.requests,
            "runs": self.run_ids,
            "counts": self.counts,
            "error": self.error,
        }


@dataclass
class Submission:
    incident_id: str
    batches: list[BatchView] = field(default_factory=list)
    finished: replay_svc.ReplayReport | None = None  # runs that needed no call (all from the cache)
    failed: list[str] = field(default_factory=list)  # targets that could not be submitted: why

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "batches": [b.as_dict() for b in self.batches],
            "finished": self.finished.as_dict()["runs"] if self.finished else [],
            "failed": self.failed,
        }


@dataclass
class PollReport:
    batches: list[BatchView] = field(default_factory=list)
    finished: list[replay_svc.ReplayReport] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"batch {b.id} ({b.target}): {b.error}" for b in self.batches if b.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": [b.as_dict() for b in self.batches],
            "finished": [r.as_dict() for rep in self.finished for r in rep.runs],
        }


# ------------------------------------------------------------------------------------------ submit
async def submit(ws: Workspace, plan: replay_svc.ReplayPlan, spec: replay_svc.ReplaySpec) -> Submission:
    """Serve cached replies, submit the rest per target, record it all; runs left waiting are `submitted`."""
    recorder = Recorder(ws, plan.jobs)
    if spec.use_cache:
        await recorder.serve_from_cache()
    out = Submission(plan.loaded.id)
    submission = uuid.uuid4().hex
    for target in _targets(plan.jobs):
        jobs = [j for j in plan.jobs if j.target.name == target.name and j.todo]
        if not jobs:
            continue
        try:
            cls = batch_provider_class(target)
            if target.api_key_env and not key_for(target):
                raise UsageError(Problem("--batch", f"target '{target.name}': ${target.api_key_env} is not set"))
        except UsageError as exc:
            _fail(jobs, out, str(exc).removeprefix("--batch: "))
            continue
        try:
            out.batches += await _submit_target(ws, recorder, cls, target, jobs, plan, spec, submission)
        except Exception as exc:  # noqa: BLE001  an SDK failure (auth, network): that target's runs fail, recorded
            _fail(jobs, out, f"batch submission for target '{target.name}' failed: {recorder.scrub(cls.describe(exc))}")
    waiting = {run_id for b in out.batches for run_id in b.run_ids}
    done = [j for j in plan.jobs if j.run_id not in waiting]
    if done:
        sub_plan = replay_svc.ReplayPlan(
            plan.loaded, plan.prompts, plan.targets, plan.items, done, plan.baseline_version
        )
        out.finished = replay_svc.finish(ws, sub_plan, spec, interrupted=False)
    return out


def _targets(jobs: Sequence[Job]) -> list[Target]:
    return list({j.target.name: j.target for j in jobs}.values())


def _fail(jobs: list[Job], out: Submission, reason: str) -> None:
    for job in jobs:
        job.dead = reason
    out.failed.append(reason)


async def _submit_target(
    ws: Workspace,
    recorder: Recorder,
    cls: type[BatchProvider],
    target: Target,
    jobs: list[Job],
    plan: replay_svc.ReplayPlan,
    spec: replay_svc.ReplaySpec,
    submission: str,
) -> list[BatchView]:
    provider = cls(target, key_for(target))
    views = []
    try:
        pending = recorder.requests(jobs)
        for start in range(0, len(pending), cls.max_requests):
            chunk = pending[start : start + cls.max_requests]
            provider_batch_id = await provider.submit([(cid, request) for cid, request, _ in chunk])
            views.append(_record_batch(ws, target, chunk, provider_batch_id, plan, spec, submission))
    finally:
        await provider.aclose()
    return views


def _record_batch(
    ws: Workspace,
    target: Target,
    chunk: list[tuple[str, Request, dict[str, Any]]],
    provider_batch_id: str,
    plan: replay_svc.ReplayPlan,
    spec: replay_svc.ReplaySpec,
    submission: str,
) -> BatchView:
    run_ids = sorted({row["run_id"] for _, _, row in chunk})
    with ws.store().write() as session:
        batch = bq.add_batch(
            session,
            submission=submission,
            incident_id=plan.loaded.id,
            target_key=target.config_key(),
            target_name=target.name,
            provider=target.provider,
            provider_batch_id=provider_batch_id,
            requests=[r for _, _, r in chunk],
            run_ids=run_ids,
            spec={"items": spec.items, "baseline": spec.baseline, "baseline_version": plan.baseline_version},
            author=spec.author,
        )
        add_event(
            session,
            plan.loaded.id,
            "batch",
            f"batch submitted: {len(chunk)} calls of run{'s' if len(run_ids) > 1 else ''} "
            f"{', '.join(map(str, run_ids))} to {target.name} ({provider_batch_id})",
            spec.author,
            {"batch": batch.id, "provider_batch_id": provider_batch_id, "runs": run_ids, "requests": len(chunk)},
        )
    return BatchView(batch.id, provider_batch_id, target.name, batch.status, batch.provider_status, len(chunk), run_ids)


# ------------------------------------------------------------------------------------------ poll
async def poll(ws: Workspace, run_id: int | None = None) -> PollReport:
    """Check the batches of every submitted run (or of one run); write what ended; finish runs whose batches ended.

    A run whose batches all ended in an earlier poll that crashed before finishing it is finished now.
    """
    batches = _batches_of_submitted_runs(ws, run_id)
    out = PollReport()
    for batch in batches:
        if batch.status is BatchStatus.SUBMITTED:
            out.batches.append(await _poll_batch(ws, batch))
    for submission, target_key in sorted({(b.submission, b.target_key) for b in batches}):
        rep = _finish_group(ws, submission, target_key)
        if rep is not None:
            out.finished.append(rep)
    return out


def _batches_of_submitted_runs(ws: Workspace, run_id: int | None) -> list[BatchRecord]:
    with ws.store().read() as session:
        if run_id is not None and q.get_run(session, run_id) is None:
            raise UsageError(Problem("run", f"no run {run_id}"))
        return bq.of_submitted_runs(session, run_id)


async def _poll_batch(ws: Workspace, batch: BatchRecord) -> BatchView:
    view = BatchView(
        batch.id,
        batch.provider_batch_id,
        batch.target_name,
        batch.status,
        batch.provider_status,
        batch.requests,
        list(batch.run_ids),
    )
    target = recorded_target(ws, batch.target_key, batch.target_name)
    scrub = Scrubber.for_targets(ws.config.targets.values())
    provider = batch_provider_class(target)(target, key_for(target))
    try:
        state = await provider.state(batch.provider_batch_id)
        view.provider_status, view.counts = state.status, state.counts
        if state.ended:
            await _collect(ws, provider, batch, target, state)
            view.status = BatchStatus.FAILED if state.failed else BatchStatus.ENDED
            view.error = scrub(state.failed)
        else:
            bq.set_provider_status(ws.store(), batch.id, state.status)
    except Exception as exc:  # noqa: BLE001  the provider could not be asked (network, auth): the batch waits for the next poll
        view.error = scrub(provider.describe(exc))
    finally:
        await provider.aclose()
    return view


async def _collect(
    ws: Workspace, provider: BatchProvider, batch: BatchRecord, target: Target, state: BatchState
) -> None:
    """Write every request's result (a typed failure for those the batch did not answer), then mark the batch."""
    with ws.store().read() as session:
        requests = {r.custom_id: r for r in bq.requests_of(session, batch.id)}
    jobs = _jobs_for(ws, sorted({r.run_id for r in requests.values()}), target.batch_priced())
    recorder = Recorder(ws, list(jobs.values()))
    seen: set[str] = set()
    if not state.failed:
        async for custom_id, reply in provider.results(batch.provider_batch_id):
            request = requests.get(custom_id)
            if request is None or custom_id in seen:
                continue
            seen.add(custom_id)
            recorder.record(jobs[request.run_id], request, reply)
    failure = (
        Reply(error_type=ErrorType.BAD_REQUEST, error=f"the batch failed: {state.failed}")
        if state.failed
        else Reply(
            error_type=ErrorType.BAD_RESPONSE, error=f"the batch ({state.status}) returned no result for this request"
        )
    )
    for custom_id, request in requests.items():
        if custom_id not in seen:
            recorder.record(jobs[request.run_id], request, failure)
    recorder.flush()
    bq.end_batch(
        ws.store(),
        batch.id,
        BatchStatus.FAILED if state.failed else BatchStatus.ENDED,
        state.status,
        recorder.scrub(state.failed),
    )


def _finish_group(ws: Workspace, submission: str, target_key: str) -> replay_svc.ReplayReport | None:
    """Finish the runs of one submission × target once none of its batches is still submitted."""
    with ws.store().read() as session:
        rows = bq.of_submission(session, submission, target_key)
    if not rows or any(b.status is BatchStatus.SUBMITTED for b in rows):
        return None
    run_ids = sorted({run_id for b in rows for run_id in b.run_ids})
    runs = q.claim_runs(ws.store(), run_ids, RunStatus.SUBMITTED, RunStatus.RUNNING)  # only this poll finishes them
    if not runs:
        return None  # finished by an earlier (or a concurrent) poll
    first = rows[0]
    spec_doc = first.spec
    spec = replay_svc.ReplaySpec(
        first.incident_id, items=spec_doc["items"], baseline=spec_doc["baseline"], author=first.author
    )
    failed = "; ".join(sorted({b.error for b in rows if b.status is BatchStatus.FAILED and b.error}))
    loaded = (
        golden.load_and_sync_golden(ws, first.incident_id)
        if golden.is_golden(first.incident_id)
        else load_and_sync(ws, first.incident_id)
    )  # as services.replay.plan loads it
    items = replay_svc.select_items(loaded.items, spec.items)
    target = recorded_target(ws, target_key, first.target_name)
    jobs = []
    for run in runs:
        prompt = _prompt(ws, run)
        jobs.append(
            Job(
                run.id,
                target,
                prompt,
                [],
                RunProgress(run.id, target.name, prompt.label, len(items)),
                dead=failed or None,
            )
        )
    plan = replay_svc.ReplayPlan(loaded, [j.prompt for j in jobs], [target], items, jobs, spec_doc["baseline_version"])
    return replay_svc.finish(ws, plan, spec, interrupted=False)


# ------------------------------------------------------------------------------------------ helpers
class Recorder(Engine):
    """The replay engine's own rendering, cache lookup and result recording, driven by a batch instead of calls."""

    def __init__(self, ws: Workspace, jobs: list[Job]) -> None:
        super().__init__(ws.store(), Scrubber.for_targets(ws.config.targets.values()))
        self._all_jobs = jobs
        self._target_keys = {j.target.name: j.target.config_key() for j in jobs}

    async def serve_from_cache(self) -> None:
        providers = {j.target.name: provider_class(j.target.provider) for j in self._all_jobs}  # classes: .cacheable
        await self._serve_from_cache(self._all_jobs, providers)  # type: ignore[arg-type]
        self.flush()

    def requests(self, jobs: list[Job]) -> list[tuple[str, Request, dict[str, Any]]]:
        """(custom_id, request, batch_request row without batch_id) for every item the jobs still need."""
        out = []
        for job in jobs:
            for n, item in enumerate(job.todo):
                messages = render_item(job.prompt.template, item, job.context)  # a failure fails the target
                custom_id = f"r{job.run_id}-{n}"  # [A-Za-z0-9_-]{1,64}: item ids may hold other characters
                request = Request(messages, item.content, job.prompt.template, job.target.params)
                out.append(
                    (
                        custom_id,
                        request,
                        {
                            "custom_id": custom_id,
                            "run_id": job.run_id,
                            "item_id": item.id,
                            "cache_key": self._key(job, messages),
                            "truncated": messages.truncated,
                        },
                    )
                )
        return out

    def record(self, job: Job, request: BatchRequestRecord, reply: Reply) -> None:
        from modtui.prompts.render import Messages

        messages = Messages("", "", truncated=bool(request.truncated))  # only its truncation flag is read
        self._record(job, request.item_id, messages, reply, cached=False, key=request.cache_key)
        if len(self._pending.rows) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        self._write(self._take())


def _jobs_for(ws: Workspace, run_ids: list[int], target: Target) -> dict[int, Job]:
    with ws.store().read() as session:
        runs = [r for r in (q.get_run(session, i) for i in run_ids) if r is not None]
    return {run.id: Job(run.id, target, _prompt(ws, run), [], RunProgress(run.id, target.name, "", 0)) for run in runs}


def _prompt(ws: Workspace, run: RunRecord) -> LoadedPrompt:
    """The prompt version the run replayed, from the log (its file may have changed since)."""
    with ws.store().read() as session:
        stored = q.stored_prompt(session, run.prompt_version)
    if stored is None:
        raise UsageError(Problem("batch", f"prompt version {run.prompt_version} of run {run.id} is not in the log"))
    source, path = stored
    return LoadedPrompt(parse_prompt(source, path).template, run.prompt_path, run.prompt_version)
