"""Fault-mix benchmark: 2,000 calls through the real SDK adapters against a faulty fake provider.

    .venv/bin/python bench/faults.py [--items 1000] [--latency 0.2] [--concurrency 32]
                                     [--timeout 1.0] [--max-retries 2] [--seed 7]

A fake server (tests/fakeserver.py, in a separate process) answers an OpenAI target and an Anthropic
target with `--latency` per call and injects, at random, 5% 429 (retry-after 0.2 s), 1% 500, 1% hung
calls (held 5 s; the client gives up after `--timeout`) and 1% non-JSON bodies; every 100 items it also
answers chosen items with a truncated reply (finish_reason length / stop_reason max_tokens), a refusal
(OpenAI message.refusal / Anthropic stop_reason refusal), a refusal in prose, thinking + tool_use blocks
before the text, a connection reset, an overloaded error (Anthropic 529, OpenAI 503), a 400 and a reply
that is not a label. `--items` items × 2 targets = the calls; `--concurrency` is the total in flight
(split evenly between the targets).

Prints: every item's one recorded result counted by type per target (as `modtui replay` does), what the
server injected, and wall / ideal (= calls × latency ÷ concurrency) and their ratio. The ratio is above 1
by design: hung calls hold a slot for the timeout, and the SDKs back off before retrying. Exit 1 when an
item has no result or two, or a run is not completed. See bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PROMPT = TESTS / "data" / "workspace" / "prompts" / "toxicity" / "production.yaml"
INCIDENT = "INC-FAULTS"
KEYS = {
    "MODTUI_BENCH_OPENAI_KEY": "sk-bench-openai-not-a-key",
    "MODTUI_BENCH_ANTHROPIC_KEY": "sk-bench-anthropic-not-a-key",
}
RATES = "rate_limit=0.05,server=0.01,timeout=0.01,garbage=0.01"


# ---------------------------------------------------------------- the faulty server (a separate process)
def serve(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(TESTS))
    from fakeserver import FakeServer, Fault, Reply, _parse_rates, verdict_text

    thinking = (
        {"type": "thinking", "thinking": "Weighing the policy…", "signature": "c2ln"},
        {"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {"q": "insult"}},
    )
    chosen = {
        3: Reply(text='{"label": "violating", "confid', finish_reason="length"),
        7: Reply(refusal="I can't help with that."),
        11: Reply(text="I'm sorry, but I can't classify this."),
        13: Reply(text=verdict_text("violating"), blocks=thinking),
        17: Fault("reset"),
        19: Fault("overloaded"),
        23: Fault("bad_request"),
        37: "spam",
    }
    server = FakeServer(latency=args.latency, seed=args.seed)
    server.fault_rates = _parse_rates(RATES)
    server.fault_templates = {
        "rate_limit": Fault("rate_limit", retry_after=0.2),
        "timeout": Fault("timeout", hang_seconds=5.0),
    }
    for i in range(args.items):
        if i % 100 in chosen:
            server.add_rule(f"#{i:05d}.", chosen[i % 100])
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with server:
        print(f"PORT={server.port}", flush=True)
        done.wait()
        outcomes = Counter(f"{r.api}:{r.outcome}" for r in server.requests)
        print(json.dumps({"requests": len(server.requests), "outcomes": outcomes}), flush=True)


# ---------------------------------------------------------------- the replay being measured
def build_workspace(root: Path, items: int, port: int, args: argparse.Namespace, per_target: int) -> None:
    folder = root / "incidents" / INCIDENT
    folder.mkdir(parents=True)
    (folder / "incident.yaml").write_text(
        f"id: {INCIDENT}\ntitle: Fault-mix benchmark\nseverity: SEV3\nstatus: open\npolicy: toxicity\n"
        "labels: [violating, non_violating]\npositive_label: violating\n"
        "production: {prompt: prompts/toxicity/production.yaml, model: oai}\n"
    )
    with (folder / "items.jsonl").open("w") as out:
        for i in range(items):
            content = ("you are vermin" if i % 3 == 0 else "have a lovely day") + f" #{i:05d}."
            out.write(
                json.dumps(
                    {
                        "id": f"f-{i:05d}",
                        "content": content,
                        "expected": "violating" if i % 3 == 0 else "non_violating",
                        "observed": "non_violating",
                    }
                )
                + "\n"
            )
    (root / "prompts" / "toxicity").mkdir(parents=True)
    prompt = (
        PROMPT.read_text()
        .replace("[toxic, ok]", "[violating, non_violating]")
        .replace("positive_label: toxic", "positive_label: violating")
    )
    (root / "prompts" / "toxicity" / "production.yaml").write_text(prompt)
    common = f"concurrency = {per_target}\nmax_retries = {args.max_retries}\ntimeout = {args.timeout}\n"
    (root / "modtui.toml").write_text(
        f'[targets.oai]\nprovider = "openai"\nmodel = "bench"\napi_key_env = "MODTUI_BENCH_OPENAI_KEY"\n'
        f'base_url = "http://127.0.0.1:{port}/v1"\n{common}\n[targets.oai.params]\nmax_tokens = 200\n\n'
        f'[targets.ant]\nprovider = "anthropic"\nmodel = "bench"\napi_key_env = "MODTUI_BENCH_ANTHROPIC_KEY"\n'
        f'base_url = "http://127.0.0.1:{port}"\n{common}'
    )


async def replay(root: Path) -> tuple[float, list]:  # type: ignore[type-arg]
    from modtui.services import replay as svc
    from modtui.workspace import Workspace

    ws = Workspace.open(root)
    try:
        spec = svc.ReplaySpec(INCIDENT, targets=["oai", "ant"], use_cache=False, author="bench")
        plan = svc.plan(ws, spec)
        started = time.perf_counter()
        rep = await svc.execute(ws, plan, spec)
        wall = time.perf_counter() - started
        with ws.store().read() as session:
            from modtui.store import runs as q

            rows = {r.run.target_name: q.results_of(session, r.run.id) for r in rep.runs}
        return wall, [(r, rows[r.run.target_name]) for r in rep.runs]
    finally:
        ws.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items per target (2 targets)")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight in total")
    parser.add_argument("--timeout", type=float, default=1.0, help="the targets' client timeout, seconds")
    parser.add_argument("--max-retries", type=int, default=2, help="the SDKs' own retries")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return 0

    from replay import spawn_server  # bench/replay.py, beside this file

    server, port = spawn_server(
        [__file__, "--serve", "--items", str(args.items), "--latency", str(args.latency), "--seed", str(args.seed)]
    )
    assert server.stdout is not None
    tmp = Path(tempfile.mkdtemp(prefix="modtui-faults-"))
    os.environ.update(KEYS)
    per_target = max(1, args.concurrency // 2)
    try:
        build_workspace(tmp, args.items, port, args, per_target)
        import anthropic  # noqa: F401  (SDK imports are one-off per process, not replay time)
        import openai  # noqa: F401

        wall, runs = asyncio.run(replay(tmp))
    finally:
        server.send_signal(signal.SIGTERM)
        stats = json.loads(server.stdout.readline() or "{}")
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    calls = 2 * args.items
    ideal = calls * args.latency / (2 * per_target)
    ok = True
    print(
        f"fault mix: {args.items} items × 2 targets (openai, anthropic) = {calls} calls, latency {args.latency:g} s, "
        f"{2 * per_target} in flight ({per_target} per target), client timeout {args.timeout:g} s, "
        f"SDK max_retries {args.max_retries}; python {sys.version.split()[0]}"
    )
    for report, rows in runs:
        ids = [r.item_id for r in rows]
        one_each = len(ids) == len(set(ids)) == args.items
        ok &= one_each and report.run.status == "completed"
        types = Counter((r.error_type or "error") if r.outcome == "error" else r.outcome for r in rows)
        labels = types.pop("label", 0)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(types.items(), key=lambda kv: (-kv[1], kv[0])))
        print(
            f"  {report.run.target_name:4} ({report.run.status}): {len(rows)} results "
            f"({'one per item' if one_each else 'NOT one per item'}), {labels} verdicts; no verdict: {shown}"
        )
    outcomes = Counter(stats.get("outcomes", {}))
    injected = Counter()
    for key, n in outcomes.items():
        injected[key.split(":", 1)[1]] += n
    print(
        f"  server: {stats.get('requests', '?')} requests (retries included): "
        + ", ".join(f"{k} {v}" for k, v in sorted(injected.items(), key=lambda kv: (-kv[1], kv[0])))
    )
    print(f"  wall {wall:.2f} s, ideal {ideal:.2f} s (calls × latency ÷ concurrency), ratio {wall / ideal:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
