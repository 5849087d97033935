"""Large incidents and runs: the cache is served in chunks, compare reads plain rows; same answers as before."""

from __future__ import annotations


import pytest

from modtui.replay import engine as engine_module
from modtui.services import replay as svc
from modtui.services import runs as runs_svc
from modtui.services.scoring import scored, scored_rows
from modtui.store import runs as q
from modtui.workspace import Workspace

try:
    from fakeserver import FakeServer, Fault
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeServer, Fault

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"


async def replay(ws: Workspace, **spec: object) -> svc.ReplayReport:
    rspec = svc.ReplaySpec(INC, prompts=[CANDIDATE], targets=["gpt-mini"], **spec)  # type: ignore[arg-type]
    plan = svc.plan(ws, rspec)
    return await svc.execute(ws, plan, rspec)


async def test_the_cache_is_served_in_chunks(
    ws: Workspace, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "CACHE_CHUNK", 5)  # 12 items: chunks of 5, 5 and 2
    fake_server.add_rule("nice day", Fault("bad_request"), times=1)  # fails once: not cached, called again
    first = await replay(ws)
    second = await replay(ws)
    assert fake_server.count() == 24 + 2
    for before, after in zip(first.runs, second.runs):
        assert before.metrics.no_verdict == 1 and after.metrics.no_verdict == 0
        assert after.metrics.cached == 11 and after.metrics.items == 12


async def test_compare_reads_plain_rows_and_scores_as_before(ws: Workspace, fake_server: FakeServer) -> None:
    fake_server.add_rule("lovely", Fault("server", should_retry=False))
    rep = await replay(ws)
    base, cand = (r.run.id for r in rep.runs)
    with ws.store().read() as session:
        expected = q.expected_labels(session, INC)
        for run_id in (base, cand):
            assert scored_rows(q.scoring_rows(session, run_id), expected) == scored(
                q.results_of(session, run_id), expected
            )
    left, right, flips = runs_svc.compare_runs(ws, base, cand)
    assert (left.metrics, right.metrics) == (rep.runs[0].metrics, rep.runs[1].metrics)
    assert (flips.fixed, flips.regressed) == (rep.runs[1].flips.fixed, rep.runs[1].flips.regressed)
