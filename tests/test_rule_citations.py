"""Verdicts cite rules (issue 14, point 1): the rules a verdict applied are stored per result, and the names the
prompt's policy does not define are kept but flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modtui.policy.classify import classify
from modtui.services import replay as svc
from modtui.store import runs as q
from modtui.workspace import Workspace

try:
    from fakeserver import Reply as FakeReply
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Reply as FakeReply

INC = "INC-T1"
CANDIDATE = "prompts/toxicity/candidate.yaml"


async def replay(ws: Workspace, **spec: Any) -> svc.ReplayReport:
    rspec = svc.ReplaySpec(INC, **spec)
    return await svc.execute(ws, svc.plan(ws, rspec), rspec)


def stored(ws: Workspace, run_id: int) -> dict[str, tuple[list[str], list[str]]]:
    with ws.store().read() as session:
        return {r.item_id: (list(r.rules), list(r.unknown_rules)) for r in q.results_of(session, run_id)}


async def test_offline_verdicts_cite_fired_rules_and_clearing_exceptions(ws: Workspace) -> None:
    rep = await replay(ws, prompts=[CANDIDATE])
    for run in rep.runs:
        prompt = ws.load_prompt(run.run.prompt_path).template
        items = {i.id: i for i in ws.load_incident(INC).items}
        rows = stored(ws, run.run.id)
        assert len(rows) == len(items)
        for item_id, (rules, unknown) in rows.items():
            decided = classify(items[item_id].content, prompt.policy, prompt.labels, positive_label="toxic")
            clearing = [e.name for e in prompt.policy.exceptions if e.name in decided.exceptions and decided.fired]
            assert rules == list(dict.fromkeys([*decided.fired, *clearing])), item_id
            assert unknown == []  # the offline target only cites the policy's own names
    candidate = stored(ws, rep.runs[-1].run.id)
    assert candidate["i-01"][0] == ["insult", "self_deprecation"]  # fired, then cleared by the exception
    with ws.store().read() as session:
        cited = q.cited_rules(session, rep.runs[-1].run.id)
    assert cited["i-01"].rules == ("insult", "self_deprecation") and "i-07" not in cited  # i-07 cites nothing
    assert stored(ws, rep.runs[-1].run.id)["i-07"] == ([], [])


@pytest.mark.parametrize(
    "answer, rules, unknown",
    [
        ({"label": "toxic", "rules": ["insult", "made_up_rule"]}, ["insult", "made_up_rule"], ["made_up_rule"]),
        ({"label": "toxic", "rule_ids": ["threat"]}, ["threat"], []),
        ({"label": "toxic", "policy_category": "quoting"}, ["quoting"], []),  # an exception's name is vocabulary too
        ({"label": "ok"}, [], []),
    ],
)
async def test_model_verdicts_cite_rules_flagging_unknown_names(
    ws: Workspace, fake_server: Any, answer: dict, rules: list[str], unknown: list[str]
) -> None:
    fake_server.responder = lambda request: FakeReply(text=json.dumps(answer))
    rep = await replay(ws, targets=["gpt-mini"])
    rows = stored(ws, rep.runs[0].run.id)
    assert len(rows) == 12 and set(map(tuple, (r for r, _ in rows.values()))) == {tuple(rules)}
    assert {tuple(u) for _, u in rows.values()} == {tuple(unknown)}


def test_sample_prompts_ask_for_rules() -> None:
    root = Path(__file__).parent.parent
    prompts = sorted((root / "prompts").glob("*/*.yaml"))
    assert len(prompts) == 6
    for path in prompts:
        from modtui.prompts.loader import load_prompt

        template = load_prompt(path).template
        assert '"rules"' in template.user and template.policy is not None, path


def test_m006_upgrades_a_log_keeping_its_results(tmp_path: Path) -> None:
    """A log written before m006: its results keep every value and read as citing nothing, answered by no one."""
    from sqlalchemy import text

    from modtui.store.db import open_store
    from modtui.store.migrations import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upto = [name for name, _ in MIGRATIONS].index("m006_result_provenance")
    old = open_store(url, migrate_upto=upto)
    with old.engine.begin() as conn:
        for statement in (
            "INSERT INTO incident VALUES ('INC-OLD', 't', 'SEV2', 'open', 'p', 'toxic', '[]', 'p.yaml', 'offline', "
            "NULL, '', 'h', '2026-01-01T00:00:00Z', NULL)",
            "INSERT INTO prompt_version VALUES ('v1', 'p', 'p.yaml', '{}', '', '2026-01-01')",
            "INSERT INTO target VALUES ('k1', 'offline', 'rules', 'rules-baseline', NULL, '{}', '2026-01-01')",
            "INSERT INTO run (id, incident_id, target_key, target_name, prompt_version, prompt_path, item_set, status, "
            "author, started_at, items_total, summary_json) VALUES (1, 'INC-OLD', 'k1', 'offline', 'v1', 'p.yaml', "
            "'all', 'completed', 'me', '2026-01-01', 1, '{}')",
            "INSERT INTO result (run_id, item_id, outcome, label, tokens_in, tokens_out, cost_usd, cached, created_at) "
            "VALUES (1, 'i-1', 'label', 'toxic', 10, 2, 0.5, 0, '2026-01-01')",
            "INSERT INTO response_cache (key, target_key, text, tokens_in, tokens_out, created_at) "
            "VALUES ('c1', 'k1', 'toxic', 3, 1, '2026-01-01')",
        ):
            conn.execute(text(statement))
    old.close()
    store = open_store(url)
    try:
        with store.read() as session:
            (row,) = q.results_of(session, 1)
            assert (row.label, row.tokens_in, row.cost_usd) == ("toxic", 10, 0.5)
            assert (row.rules, row.unknown_rules, row.answered_model, row.cache_read_tokens) == ((), (), None, 0)
            assert q.cited_rules(session, 1) == {} and q.answered_by(session, [1]) == {1: q.AnsweredBy()}
            assert q.cached(session, ["c1"])["c1"].cache_write_tokens == 0
    finally:
        store.close()
