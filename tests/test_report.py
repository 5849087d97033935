"""The handoff report: sections and numbers after a real offline replay, the JSON schema, --redact, masking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import INCIDENT_ID, copy_samples, run_cli
from modtui.domain.finding import Finding, FindingStatus, apply_corrections
from modtui.domain.masking import MaskRule, mask_reason
from modtui.report import schema
from modtui.report.redact import redact_text

SECTIONS = [
    "## Summary",
    "## Current status",
    "## Conditions",
    "## Actions taken",
    "## Findings",
    "## Needs",
    "### Next steps",
    "## Timeline",
]


@pytest.fixture
def samples(tmp_path: Path, migrated_log: Path) -> Path:
    """A copy of the repository's sample incidents and prompts (no modtui.toml: the offline target)."""
    return copy_samples(tmp_path / "samples", migrated_log)


def ok(ws: Path, *args: str) -> str:
    result = run_cli(ws, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def items_of(ws: Path, incident: str) -> list[dict]:
    return [json.loads(line) for line in (ws / "incidents" / incident / "items.jsonl").read_text().splitlines() if line]


def validate(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.Draft202012Validator(schema()).validate(doc)


def report_json(ws: Path, incident: str, *args: str) -> dict:
    doc = json.loads(ok(ws, "report", incident, "--format", "json", *args))
    validate(doc)
    return doc


def test_a_candidate_with_no_f1_is_still_the_candidate_tried(workspace: Path) -> None:
    """A candidate that flags nothing has no precision, so no F1: the report said 'no candidate prompt has been
    replayed yet (only production)' and told the reader to write one."""
    prompts = workspace / "prompts" / "toxicity"
    flags_nothing = (prompts / "production.yaml").read_text().replace("terms: [idiot, moron]", "terms: [zzqx]")
    flags_nothing = flags_nothing.replace(r"patterns: ['\b(hurt|destroy) you\b']", "patterns: ['zzqx']")
    (prompts / "lenient.yaml").write_text(flags_nothing)
    ok(workspace, "replay", INCIDENT_ID, "-p", "toxicity/lenient")
    doc = report_json(workspace, INCIDENT_ID)
    best = doc["actions"]["best_candidate"]
    assert best is not None and best["prompt"] == "toxicity/lenient" and best["f1"] is None
    assert "none of a candidate prompt" not in doc["summary"] and "best candidate toxicity/lenient" in doc["summary"]
    md = ok(workspace, "report", INCIDENT_ID)
    assert "No candidate prompt has been replayed yet" not in md
    assert "### Best candidate: run 2, toxicity/lenient on offline" in md


# -- no runs ----------------------------------------------------------------------------------------------------


def test_report_with_no_runs(workspace: Path) -> None:
    md = ok(workspace, "report", INCIDENT_ID)
    for section in SECTIONS:
        assert section in md
    assert "No runs yet: nothing has been replayed on this incident." in md
    assert "No findings recorded yet." in md and "No replays yet." in md
    assert f"`modtui replay {INCIDENT_ID}`" in md
    doc = report_json(workspace, INCIDENT_ID)
    assert doc["actions"] == {"runs": [], "prompt_versions": [], "best_candidate": None}
    assert doc["needs"]["still_failing"] == {"count": 0, "run_id": None, "items": []}
    assert doc["conditions"]["by_kind"] == {"false_positive": 3, "false_negative": 2, "guard": 5, "eval": 2}


def test_report_with_production_only_and_unknown_incident(workspace: Path) -> None:
    ok(workspace, "replay", INCIDENT_ID)
    md = ok(workspace, "report", INCIDENT_ID)
    assert "### Runs (1)" in md and "No candidate prompt has been replayed yet" in md
    assert report_json(workspace, INCIDENT_ID)["actions"]["best_candidate"] is None
    result = run_cli(workspace, "report", "INC-NOPE")
    assert result.exit_code == 2 and "no incident 'INC-NOPE'" in result.stderr


# -- a sample incident after a replay and a finding ----------------------------------------------------------------------


def investigate(ws: Path) -> tuple[dict, list[dict]]:
    """Replay INC-0042 with the candidate, record a finding; return the replay's JSON and its per-item lines."""
    rep = json.loads(ok(ws, "replay", "INC-0042", "-p", "hate_speech/candidate", "--format", "json"))
    lines = [
        json.loads(line)
        for line in ok(ws, "replay", "INC-0042", "-p", "hate_speech/candidate", "--format", "jsonl").splitlines()
    ]
    ok(
        ws,
        "finding",
        "add",
        "INC-0042",
        "--category",
        "policy_gap",
        "--summary",
        "Reclaimed in-group terms read as slurs",
        "--item",
        "i-0005",
        "--run",
        "1",
        "--run",
        "2",
        "--fix",
        "in_group_reclaimed exception",
    )
    return rep, lines


def test_markdown_report_sections_and_numbers(samples: Path) -> None:
    rep, lines = investigate(samples)
    items = items_of(samples, "INC-0042")
    fps = sum(1 for i in items if i["kind"] == "false_positive")
    cand = next(r for r in rep["runs"] if r["prompt"].endswith("candidate"))
    # the latest runs (3 production, 4 candidate: the jsonl replay) are the report's best candidate
    latest = [line for line in lines if line["run_id"] == 4]
    expected = {i["id"]: i["expected"] for i in items}
    still_failing = sorted(line["item_id"] for line in latest if line["label"] != expected[line["item_id"]])

    md = ok(samples, "report", "INC-0042")
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert md.startswith("# Handoff: INC-0042 — Reclaimed in-group terms removed as hate speech")
    assert "| severity | SEV2 |" in md and "| status | investigating |" in md
    assert f"**{fps} failing** of {len(items)} items: {fps} false positives, 0 false negatives" in md
    assert "### Runs (4)" in md
    assert "### Best candidate: run 4, hate_speech/candidate on offline" in md
    assert (
        f"F1 {cand['f1']:.3f}, precision {cand['precision']:.3f}, recall {cand['recall']:.3f}; "
        f"{len(cand['flips']['fixed'])} fixed and {len(cand['flips']['regressed'])} regressed against run 3"
    ) in md
    assert "```diff\n--- prompts/hate_speech/production.yaml\n+++ prompts/hate_speech/candidate.yaml" in md
    assert "+    - name: in_group_reclaimed" in md
    assert "### #1 [policy_gap] open: Reclaimed in-group terms read as slurs" in md
    assert "- evidence: items i-0005; runs 1, 2" in md
    assert f"### Still failing under the best candidate (run 4): {len(still_failing)}" in md
    assert f"### Regressions to look at (run 4): {len(cand['flips']['regressed'])}" in md
    for item_id in cand["flips"]["regressed"]:
        assert f"| {item_id} | guard |" in md
    assert "Resolve or supersede the open findings (#1)" in md
    assert (
        md.count("| run | tester |") == 4 and "finding #1 added \\[policy_gap\\]" in md
    )  # 4 run events + the finding (escaped: the event text quotes the summary)


def test_json_report_validates_and_matches_the_replay(samples: Path) -> None:
    rep, lines = investigate(samples)
    doc = report_json(samples, "INC-0042")
    cand = next(r for r in rep["runs"] if r["prompt"].endswith("candidate"))
    best = doc["actions"]["best_candidate"]
    assert best["run_id"] == 4 and best["baseline_run_id"] == 3
    assert best["f1"] == pytest.approx(cand["f1"]) and best["regressed"] == len(cand["flips"]["regressed"])
    assert [v["runs"] for v in doc["actions"]["prompt_versions"]] == [[1, 3], [2, 4]]
    assert [i["item"] for i in doc["needs"]["regressions"]["items"]] == cand["flips"]["regressed"]
    expected = {i["id"]: i["expected"] for i in items_of(samples, "INC-0042")}
    wrong = sorted(
        line["item_id"] for line in lines if line["run_id"] == 4 and line["label"] != expected[line["item_id"]]
    )
    assert doc["needs"]["still_failing"]["count"] == len(wrong)
    assert [i["item"] for i in doc["needs"]["still_failing"]["items"]] == wrong
    assert doc["findings"][0]["runs"] == [1, 2] and doc["needs"]["open_findings"][0]["id"] == 1
    assert [e["kind"] for e in doc["timeline"]] == ["run", "run", "run", "run", "finding"]


def test_report_lists_the_incidents_clusters(samples: Path) -> None:
    from modtui.services.cluster import clusters_for
    from modtui.workspace import Workspace

    ws = Workspace.open(samples)
    try:
        expected = clusters_for(ws, "INC-0057")
    finally:
        ws.close()
    set_workspace(samples, 'mask_severity_at_or_above = "SEV1"')  # INC-0057 is SEV1: previews are masked
    doc = report_json(samples, "INC-0057")
    got = doc["conditions"]
    assert got["cluster_count"] == len(expected) > 0
    assert [(c["id"], c["size"], c["representative"]) for c in got["clusters"]] == [
        (c.id, c.size, c.representative) for c in expected[:20]
    ]
    assert {c["preview"] for c in got["clusters"]} == {"[masked] (SEV1 incident)"}
    md = ok(samples, "report", "INC-0057")
    first = expected[0]
    assert f"**{len(expected)} near-duplicate cluster(s)**" in md
    assert f"  - cluster {first.id}: {first.size} items (" in md


def test_report_shows_disputes_and_closed_findings(samples: Path) -> None:
    investigate(samples)
    ok(
        samples,
        "finding",
        "add",
        "INC-0042",
        "-c",
        "label_error",
        "-s",
        "i-0037 is a quote",
        "--correct",
        "i-0037=non_violating",
    )
    ok(samples, "finding", "resolve", "1", "-r", "candidate shipped")
    doc = report_json(samples, "INC-0042")
    assert [f["id"] for f in doc["findings"]] == [2, 1]  # open first
    assert doc["conditions"]["corrected_labels"] == {
        "i-0037": {"original": "violating", "corrected": "non_violating", "finding": 2}
    }
    md = ok(samples, "report", "INC-0042")
    assert "**1 gold label(s) disputed**" in md and "i-0037 violating → non_violating" in md
    assert "- resolved at " in md and "candidate shipped" in md


# -- redaction ---------------------------------------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HANDLE = re.compile(r"@\w+")
DOMAIN = re.compile(r"\b[\w-]+(?:\.[\w-]+)*\.example\.(?:com|org|net)\b|https?://\S+")
PHONE = re.compile(r"\+?\d[\d ]{0,3}555[- ]01\d\d|555-01\d\d")


def personal_data(ws: Path, incident: str) -> set[str]:
    text = (ws / "incidents" / incident / "items.jsonl").read_text() + (
        ws / "incidents" / incident / "incident.yaml"
    ).read_text()
    found = set(EMAIL.findall(text)) | set(DOMAIN.findall(text)) | set(PHONE.findall(text))
    found |= {h for h in HANDLE.findall(text) if not any(h in e for e in found)}
    return found


@pytest.mark.parametrize("incident", ["INC-0042", "INC-0057"])
def test_redact_leaves_no_personal_data_or_content(samples: Path, incident: str) -> None:
    policy = "hate_speech" if incident == "INC-0042" else "scam_spam"
    ok(samples, "replay", incident, "-p", f"{policy}/candidate")
    items = items_of(samples, incident)
    quoted = next(i for i in items if "@" in i["content"])
    ok(
        samples,
        "finding",
        "add",
        incident,
        "-c",
        "policy_gap",
        "--item",
        quoted["id"],
        "--summary",
        f'Posts like "{quoted["content"]}" (reported by ana@corp.example.com, +1 555 0100) are missed',
    )
    pii = personal_data(samples, incident) | {"ana@corp.example.com", "+1 555 0100"}
    assert len(pii) >= 5
    for fmt in ("md", "json"):
        out = ok(samples, "report", incident, "--format", fmt, "--redact", "--no-mask")
        leaked = sorted(p for p in pii if p in out)
        assert not leaked, leaked
        for item in items:
            content = item["content"].strip()
            assert content not in out and json.dumps(content, ensure_ascii=False)[1:-1] not in out
        assert "@made_up" not in out and "example.org" not in out and "example.com" not in out
        assert quoted["id"] in out and ("### Runs (2)" in out if fmt == "md" else '"run_id": 2' in out)  # ids kept
    doc = report_json(samples, incident, "--redact")
    assert doc["options"]["redacted"] is True
    assert {i["content"] for i in doc["needs"]["still_failing"]["items"]} <= {"[redacted]"}
    plain = ok(samples, "report", incident, "--format", "json")
    assert any(p in plain for p in pii)  # without --redact the data is there (so the test above means something)


def test_redact_text_keeps_ids_numbers_and_times() -> None:
    text = "run 12 at 2026-11-20T08:14:00Z on i-0042: P 0.85, 1,000 USDT, 10 000 items, v1.2.3, prompts/x.yaml"
    assert redact_text(text) == text
    assert (
        redact_text("mail a.b@x.io or www.x.com/p or http://y.org, call (555) 010-1234, ping @al_b")
        == "mail [email] or [url] or [url], call [phone], ping [handle]"
    )


# -- masking -----------------------------------------------------------------------------------------------------------------


def test_mask_rule() -> None:
    sev2 = MaskRule.of("sev2", [])
    assert mask_reason(sev2, "SEV1", {}) == "SEV1 incident" and mask_reason(sev2, "SEV2", {}) == "SEV2 incident"
    assert mask_reason(sev2, "SEV3", {}) is None
    tags = MaskRule.of(None, ["Graphic", "self_harm"])
    assert mask_reason(tags, "SEV1", {}) is None
    assert mask_reason(tags, "SEV4", {"graphic": True}) == "meta tag 'graphic'"
    assert mask_reason(tags, "SEV4", {"graphic": False, "self_harm": 0}) is None
    assert mask_reason(tags, "SEV4", {"tags": ["news", "SELF_HARM"]}) == "meta tag 'self_harm'"
    assert mask_reason(tags, "SEV4", {"tags": "graphic"}) == "meta tag 'graphic'"
    assert mask_reason(MaskRule(), "SEV1", {"graphic": True}) is None


def set_workspace(ws: Path, lines: str) -> None:
    (ws / "modtui.toml").write_text(f"[workspace]\n{lines}\n")


def test_report_masks_by_severity_unless_no_mask(samples: Path) -> None:
    ok(samples, "replay", "INC-0042", "-p", "hate_speech/candidate")
    set_workspace(samples, 'mask_severity_at_or_above = "SEV2"')
    doc = report_json(samples, "INC-0042")
    failing = doc["needs"]["still_failing"]["items"]
    assert doc["options"]["masked_items"] == 92 and failing
    assert all(i["masked"] and i["content"] == "[masked] (SEV2 incident)" for i in failing)
    md = ok(samples, "report", "INC-0042")
    assert "masked by the workspace's wellbeing setting" in md
    assert not any(i["content"] in md for i in items_of(samples, "INC-0042") if len(i["content"]) > 20)
    shown = report_json(samples, "INC-0042", "--no-mask")
    assert shown["options"] == {"redacted": False, "masked": False, "masked_items": 0}
    assert not any(i["masked"] for i in shown["needs"]["still_failing"]["items"])
    set_workspace(samples, 'mask_severity_at_or_above = "SEV1"')
    assert report_json(samples, "INC-0042")["options"]["masked_items"] == 0


def test_report_masks_by_meta_tag(samples: Path) -> None:
    ok(samples, "replay", "INC-0042", "-p", "hate_speech/candidate")
    set_workspace(samples, 'mask_meta_tags = ["appealed"]')
    appealed = {i["id"] for i in items_of(samples, "INC-0042") if i["meta"].get("appealed")}
    doc = report_json(samples, "INC-0042")
    assert doc["options"]["masked_items"] == len(appealed) > 0
    for entry in doc["needs"]["still_failing"]["items"]:
        assert entry["masked"] == (entry["item"] in appealed)
        assert (entry["content"] == "[masked] (meta tag 'appealed')") == (entry["item"] in appealed)


def test_bad_mask_setting_is_a_located_error(samples: Path) -> None:
    set_workspace(samples, 'mask_severity_at_or_above = "SEV5"')
    result = run_cli(samples, "report", "INC-0042")
    assert result.exit_code == 2
    assert (
        "modtui.toml:2: workspace.mask_severity_at_or_above: 'SEV5' is not one of SEV1, SEV2, SEV3, SEV4"
        in result.stderr
    )


# -- markdown safety and the corrections rule ----------------------------------------------------------------------------------


def test_markdown_is_inert(workspace: Path) -> None:
    ok(workspace, "finding", "add", INCIDENT_ID, "-c", "policy_gap", "-s", "a | pipe <script>x</script> \x1b[31mred")
    md = ok(workspace, "report", INCIDENT_ID)
    assert "<script>" not in md and "\x1b" not in md and "a \\| pipe &lt;script>" in md


def test_later_finding_wins_and_only_correcting_statuses_apply() -> None:
    def finding(id_: int, status: FindingStatus, corrections: dict[str, str], category: str = "label_error") -> Finding:
        return Finding(id_, "I", category, "s", status, "a", "t", corrections=corrections)

    expected = {"a": "x", "b": "x", "c": "y"}
    found = [
        finding(2, FindingStatus.OPEN, {"a": "z"}),
        finding(1, FindingStatus.RESOLVED, {"a": "y", "b": "y"}),
        finding(3, FindingStatus.REJECTED, {"c": "x"}),
        finding(4, FindingStatus.SUPERSEDED, {"c": "x"}),
        finding(5, FindingStatus.OPEN, {"c": "x"}, "policy_gap"),
        finding(6, FindingStatus.OPEN, {"gone": "x", "c": "y"}),
    ]
    result = apply_corrections(expected, found)
    assert {k: (v.corrected, v.finding_id) for k, v in result.items()} == {"a": ("z", 2), "b": ("y", 1)}


@pytest.mark.parametrize("status, asked", [("open", True), ("investigating", True), ("mitigated", False)])
def test_next_steps_ask_to_mark_a_clean_fix_mitigated_while_the_incident_is_open(status: str, asked: bool) -> None:
    from modtui.services.report_needs import next_steps

    best = {"run_id": 2, "prompt": "p/candidate", "item_set": "all", "fixed": 3, "regressed": 0, "mcnemar_p": 0.01}
    data = {
        "incident": {"id": "INC-1", "policy": "p", "status": status},
        "actions": {"runs": [{"run_id": 1}, {"run_id": 2}], "best_candidate": best},
        "needs": {"regressions": {"count": 0}, "still_failing": {"count": 0}, "open_findings": []},
        "findings": [{"id": 1}],
    }
    steps = next_steps(data, best_on_subset=False)
    assert any("modtui incident status INC-1 mitigated" in s for s in steps) is asked, steps
