"""Issue 7, faults: a mix of provider faults over 2,000 calls through the real SDK adapters and the CLI.

Every item ends with exactly one recorded result — a verdict or a typed non-verdict — and the type of
each one is what the fake server actually did to that item's last attempt (an oracle independent of
modtui's classification code). The CLI prints one line per run counting each type on stderr, and the
JSON's `no_verdict_by_type` agrees with the log. A rejected key stops its target after a handful of calls.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reliability_support import (
    TYPED,
    add_incident,
    db_path,
    result_type,
    results_by_item,
    runs,
    type_counts,
    write_targets,
)

try:
    from fakeserver import Fault, FakeServer, Reply, verdict_text
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import Fault, FakeServer, Reply, verdict_text

INC = "INC-FAULTS"
ITEMS = 1000  # × 2 targets (openai, anthropic) = 2,000 calls
RATES = {"rate_limit": 0.05, "server": 0.01, "timeout": 0.01, "garbage": 0.01}
THINKING = (
    {"type": "thinking", "thinking": "Let me weigh the policy…", "signature": "c2lnbmF0dXJl"},
    {"type": "tool_use", "id": "toolu_01", "name": "lookup_policy", "input": {"q": "insult"}},
)
# items chosen by index (i % 100) → what the server answers on every attempt, and the result type that must follow
CHOSEN: dict[int, tuple[Any, str]] = {
    3: (Reply(text='{"label": "toxic", "confid', finish_reason="length"), "truncated"),  # stop_reason max_tokens
    7: (Reply(refusal="I can't help with that."), "refusal"),  # OpenAI message.refusal; Anthropic stop_reason refusal
    11: (Reply(text="I'm sorry, but I can't classify this content."), "refusal"),
    13: (Reply(text=verdict_text("toxic"), blocks=THINKING), "label"),  # Anthropic: text after thinking/tool_use
    17: (Fault("reset"), "connection"),
    19: (Fault("overloaded"), "server"),  # Anthropic 529 overloaded_error, OpenAI 503
    23: (Fault("bad_request"), "bad_request"),
    29: (Fault("timeout", hang_seconds=3.0), "timeout"),
    31: (Fault("garbage"), "bad_response"),
    37: (Reply(text="spam"), "parse_error"),
    41: (Fault("rate_limit", retry_after=0.01), "rate_limit"),
}
# the fake server's outcome of an item's last attempt → the result type modtui must record
LAST_OUTCOME = {
    "ok": "label",
    "rate_limit": "rate_limit",
    "server": "server",
    "overloaded": "server",
    "timeout": "timeout",
    "reset": "connection",
    "garbage": "bad_response",
    "bad_request": "bad_request",
    "auth": "auth",
}
SUMMARY = re.compile(r"^run (\d+) \((\S+) × (\S+)\) (\w+): (\d+) results, (\d+) verdicts; no verdict: (.*)$")


def content(i: int) -> str:
    return f"item-{i:05d} " + ("you idiot" if i % 2 else "what a lovely day")


def summary_lines(stderr: str) -> dict[int, tuple[str, int, int, dict[str, int]]]:
    """run id → (status, results, verdicts, {type: count}) from the CLI's per-run outcome lines."""
    out = {}
    for line in stderr.splitlines():
        if m := SUMMARY.match(line):
            kinds = {} if m[7] == "none" else {k: int(v) for k, v in (p.rsplit(" ", 1) for p in m[7].split(", "))}
            out[int(m[1])] = (m[4], int(m[5]), int(m[6]), kinds)
    return out


@pytest.fixture
def faulty(workspace: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODTUI_TEST_OPENAI_KEY", "sk-test-openai-0123456789")
    monkeypatch.setenv("MODTUI_TEST_ANTHROPIC_KEY", "sk-ant-test-0123456789")
    # short client timeout and one SDK retry, so 1% hanging calls cost little; no rate budget
    write_targets(workspace, fake_server.url, concurrency=32, max_retries=1, timeout=1.0)
    return workspace


def test_fault_mix_over_2000_calls(faulty: Path, fake_server: FakeServer, run_cli: Any) -> None:
    add_incident(faulty, INC, ITEMS, content)
    fake_server.seed = 7
    fake_server.fault_rates = dict(RATES)
    fake_server.fault_templates = {
        "rate_limit": Fault("rate_limit", retry_after=0.01),
        "timeout": Fault("timeout", hang_seconds=3.0),
    }
    for i in range(ITEMS):
        if i % 100 in CHOSEN:
            fake_server.add_rule(f"item-{i:05d}", CHOSEN[i % 100][0])

    result = run_cli(faulty, "replay", INC, "-m", "gpt-mini", "-m", "claude", "--format", "json")

    assert result.exit_code == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    db = db_path(faulty)
    by_target = {r[1]: r[0] for r in runs(db)}
    assert set(by_target) == {"gpt-mini", "claude"} and {r[3] for r in runs(db)} == {"completed"}

    # the oracle: what the server did to each item's last attempt, per API
    last: dict[tuple[str, str], str] = {}
    attempts: Counter[tuple[str, str]] = Counter()
    for record in fake_server.requests:  # in arrival order: a retry comes after the attempt it repeats
        item = re.search(r"item-(\d{5})", record.user_text)
        assert item is not None
        key = (record.api, item[1])
        last[key] = record.outcome
        attempts[key] += 1
    assert max(attempts.values()) <= 2  # max_retries = 1: the SDK's own retry, never an engine loop
    assert sum(attempts.values()) >= 2 * ITEMS

    seen: Counter[str] = Counter()
    for target, api in (("gpt-mini", "openai"), ("claude", "anthropic")):
        recorded = results_by_item(db, by_target[target])
        assert len(recorded) == ITEMS  # every item exactly one result
        late = []
        for n in range(ITEMS):
            got = result_type(*recorded[f"r-{n:05d}"])
            outcome = last.get((api, f"{n:05d}"))  # None: no attempt reached the server
            want = CHOSEN[n % 100][1] if n % 100 in CHOSEN else LAST_OUTCOME.get(outcome or "", "timeout")
            if got == "timeout" and want != "timeout":
                late.append((n, want))  # a loaded machine: the client gave up before the answer arrived
            else:
                assert got == want, (target, n, got, want)
            seen[got] += 1
        assert len(late) <= 0.03 * ITEMS, late
        counts = type_counts(db, by_target[target])
        no_verdict = {k: v for k, v in counts.items() if k != "label"}
        assert set(no_verdict) <= set(TYPED)
        # the JSON and the stderr summary line both count each type exactly as the log holds it
        run_doc = next(r for r in doc["runs"] if r["target"] == target)
        assert run_doc["no_verdict_by_type"] == no_verdict and run_doc["items"] == ITEMS
        assert run_doc["no_verdict"] == sum(no_verdict.values())
        line = summary_lines(result.stderr)[by_target[target]]
        assert line == ("completed", ITEMS, counts["label"], no_verdict), line
    # every kind of fault was exercised, the random mix included
    for kind in (
        "label",
        "rate_limit",
        "server",
        "timeout",
        "connection",
        "bad_response",
        "truncated",
        "refusal",
        "bad_request",
        "parse_error",
    ):
        assert seen[kind] >= 2, (kind, seen)
    injected = Counter(r.outcome for r in fake_server.requests)
    assert injected["rate_limit"] > 0.04 * 2 * ITEMS  # the random 5% really happened (plus the chosen items)


def test_anthropic_blocks_before_text_give_the_verdict(faulty: Path, fake_server: FakeServer, run_cli: Any) -> None:
    """Thinking and tool_use blocks ahead of the text block: the text after them is the verdict."""
    add_incident(faulty, INC, 4, content)
    fake_server.add_rule("item-", Reply(text=verdict_text("toxic", 0.8, "blocks first"), blocks=THINKING))
    result = run_cli(faulty, "replay", INC, "-m", "claude", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["verdict"], r["confidence"]) for r in lines] == [("toxic", 0.8)] * 4


def test_rejected_key_at_scale_stops_after_a_handful_of_calls(
    faulty: Path, fake_server: FakeServer, run_cli: Any
) -> None:
    add_incident(faulty, INC, 2000, content)
    write_targets(faulty, fake_server.url, concurrency=4, max_retries=2, timeout=5)
    fake_server.responder = lambda request: Fault("auth") if request.api == "openai" else "ok"
    result = run_cli(faulty, "replay", INC, "-m", "gpt-mini")
    assert result.exit_code == 2
    assert fake_server.count(api="openai") <= 8  # one wave of in-flight calls (concurrency 4), not 2,000
    stderr = result.stderr.splitlines()
    errors = [line for line in stderr if line.startswith("error:")]
    assert len(errors) == 1 and "authentication failed for target 'gpt-mini'" in errors[0]
    assert "$MODTUI_TEST_OPENAI_KEY" in errors[0] and "Traceback" not in result.stderr
    ((run_id, _, _, status),) = runs(db_path(faulty))
    assert status == "failed"
    assert sum(type_counts(db_path(faulty), run_id).values()) <= 8  # a rejected call is not an item's result
    assert summary_lines(result.stderr)[run_id][0] == "failed"
