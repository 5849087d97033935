"""A prompt that renders on load but not for one item's meta: that item gets a typed result, the run goes on."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from modtui.services import replay as svc
from modtui.store import runs as q
from modtui.workspace import Workspace


def test_item_that_cannot_be_rendered_is_a_recorded_bad_request(workspace: Path) -> None:
    prompt = workspace / "prompts/toxicity/candidate.yaml"
    text = prompt.read_text(encoding="utf-8")
    prompt.write_text(text.replace("{{ content }}", "{{ content }} (reports: {{ (meta.reports or 0) + 1 }})", 1),
                      encoding="utf-8")
    items = workspace / "incidents/INC-T1/items.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["meta"] = {**first.get("meta", {}), "reports": "many"}  # str + int fails only for this item
    items.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")

    ws = Workspace.open(workspace)
    spec = svc.ReplaySpec("INC-T1", prompts=["toxicity/candidate"], targets=["offline"], author="t")
    plan = svc.plan(ws, spec)
    rep = asyncio.run(svc.execute(ws, plan, spec))
    candidate = next(r for r in rep.runs if r.prompt_label == "toxicity/candidate")
    with ws.store().read() as session:
        rows = {r.item_id: r for r in q.results_of(session, candidate.run.id)}
    assert len(rows) == len(plan.items)
    bad = rows[first["id"]]
    assert (bad.outcome, bad.error_type) == ("error", "bad_request")
    assert "template could not be rendered" in (bad.detail or "")
    assert candidate.run.status == "completed"
    assert all(r.outcome == "label" for item_id, r in rows.items() if item_id != first["id"])
    ws.close()
