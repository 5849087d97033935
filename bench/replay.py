"""Replay throughput benchmark: the real service, engine and SDK adapters against a fake provider.

    .venv/bin/python bench/replay.py [--items 2000] [--latency 0.2] [--concurrency 8,32,64]
                                     [--provider openai|anthropic|sleep] [--repeat N] [--profile out.prof]

Starts tests/fakeserver.py in a separate process (fixed latency per call), builds a temporary
workspace with an N-item incident and a target pointing at the server, and replays every item at
each concurrency with the cache off, printing calls, wall, ideal (= calls × latency ÷ C), their
ratio and the replaying process's CPU ms per call. Then a fully cached re-run of the same items.
Goals: ratio ≤ 1.10 at C=32, ≤ 1.25 at C=64; cached re-run of 2,000 items ≤ 1 s.

Then the same as a user runs it, each a whole process (start-up and imports included), side by side in
one run: `modtui replay … --no-cache -j C` beside a raw `AsyncOpenAI` script making the same calls with C in
flight (what a user would write instead), their ratio (goal ≤ 0.95 at C=32 and 64, ≤ 1.0 at C=128), a
fully cached `modtui replay` (goal ≤ 1 s) and `modtui --help` (goal ≤ 0.3 s). Each process's wall is split
as the fake server saw it: start (to its first call reaching the server) + calls (to its last answer leaving)
+ end (to its exit). `--process-only` skips the
in-process part; `--provider openai` only.
Not part of the test suite; see bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAKESERVER = ROOT / "tests" / "fakeserver.py"
PROMPT = ROOT / "tests" / "data" / "workspace" / "prompts" / "toxicity" / "production.yaml"
INCIDENT = "INC-BENCH"
KEY_ENV = "MODTUI_BENCH_KEY"
WORDS = ["idiot", "moron", "lovely", "weather", "hurt", "you", "day", "ref", "keys", "again", "nice", "post"]


def register_sleep_provider(latency: float) -> None:
    """`--provider sleep`: no HTTP and no SDK, a provider that waits `latency` and answers. The engine's own cost."""
    import types

    from modtui.providers import registry
    from modtui.providers.base import Provider, Reply

    class SleepProvider(Provider):
        name = "sleep"
        needs_key = False

        async def complete(self, request):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            await asyncio.sleep(latency)
            return Reply(
                text='{"label": "violating", "confidence": 0.9, "rationale": "bench"}',
                finish_reason="stop",
                tokens_in=150,
                tokens_out=15,
                raw='{"bench": true}',
            ).timed(started)

    module = types.ModuleType("modtui_bench_sleep")
    module.SleepProvider = SleepProvider  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    registry.PROVIDERS["openai"] = f"{module.__name__}:SleepProvider"  # the bench target says provider "openai"


def start_server(latency: float) -> tuple[subprocess.Popen[str], int]:
    return spawn_server([str(FAKESERVER), "--port", "0", "--latency", str(latency)])


def spawn_server(argv: list[str]) -> tuple[subprocess.Popen[str], int]:
    """A fake provider in its own process (`python ARGV…`), once it has printed PORT=n."""
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT="):
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return proc, int(line.removeprefix("PORT="))


def build_workspace(root: Path, items: int, provider: str, port: int) -> None:
    folder = root / "incidents" / INCIDENT
    folder.mkdir(parents=True)
    (folder / "incident.yaml").write_text(
        f"id: {INCIDENT}\ntitle: Benchmark incident\nseverity: SEV3\nstatus: open\npolicy: toxicity\n"
        "labels: [violating, non_violating]\npositive_label: violating\n"
        "production: {prompt: prompts/toxicity/production.yaml, model: bench}\n"
    )
    with (folder / "items.jsonl").open("w") as out:
        for i in range(items):
            content = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(8)) + f" #{i}"
            expected = "violating" if i % 3 == 0 else "non_violating"
            out.write(
                json.dumps({"id": f"b-{i:05d}", "content": content, "expected": expected, "observed": "non_violating"})
                + "\n"
            )
    (root / "prompts" / "toxicity").mkdir(parents=True)
    prompt = (
        PROMPT.read_text()
        .replace("[toxic, ok]", "[violating, non_violating]")
        .replace("positive_label: toxic", "positive_label: violating")
    )
    (root / "prompts" / "toxicity" / "production.yaml").write_text(prompt)
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    (root / "modtui.toml").write_text(
        f'[targets.bench]\nprovider = "{provider}"\nmodel = "bench-model"\napi_key_env = "{KEY_ENV}"\n'
        f'base_url = "{base_url}"\nconcurrency = 8\nmax_retries = 2\ntimeout = 30\n'
        f"price_in_per_mtok = 0.15\nprice_out_per_mtok = 0.60\n\n[targets.bench.params]\nmax_tokens = 200\n"
    )


async def one_replay(ws, concurrency: int, use_cache: bool):  # type: ignore[no-untyped-def]
    from modtui.services import replay as svc
    from modtui.store import runs as q

    spec = svc.ReplaySpec(INCIDENT, targets=["bench"], concurrency=concurrency, use_cache=use_cache, author="bench")
    updates = 0

    def on_progress(_p) -> None:  # type: ignore[no-untyped-def]
        nonlocal updates
        updates += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    plan = svc.plan(ws, spec)
    rep = await svc.execute(ws, plan, spec, on_progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    run = rep.runs[0]
    with ws.store().read() as session:
        rows = q.results_of(session, run.run.id)
    calls = sum(1 for r in rows if not r.cached)
    errors = sum(1 for r in rows if r.outcome != "label")
    lat = run.metrics
    return {
        "p50": lat.latency_p50_ms,
        "p95": lat.latency_p95_ms,
        "calls": calls,
        "results": len(rows),
        "cached": len(rows) - calls,
        "errors": errors,
        "wall": wall,
        "cpu": cpu,
        "status": run.run.status,
        "progress_events": updates,
    }


async def main_async(args: argparse.Namespace) -> int:
    from modtui.workspace import Workspace

    sleep_only = args.provider == "sleep"
    if sleep_only:
        register_sleep_provider(args.latency)
    proc, port = start_server(args.latency)
    tmp = Path(tempfile.mkdtemp(prefix="modtui-bench-"))
    os.environ[KEY_ENV] = "sk-bench-not-a-real-key"
    profiler = cProfile.Profile() if args.profile else None
    ok = True
    try:
        build_workspace(tmp, args.items, "openai" if sleep_only else args.provider, port)
        ws = Workspace.open(tmp)
        print(
            f"fake {args.provider} server (separate process) on :{port}, latency {args.latency:g} s; "
            f"{args.items} items; python {sys.version.split()[0]}; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates the ratios)"
        )
        if sleep_only:
            print("provider 'sleep': no HTTP, no SDK; the figures are the engine's own overhead")
        elif not args.process_only:
            started = time.perf_counter()
            __import__(args.provider)  # the SDK import is a one-off per process, not replay overhead: paid here
            print(f"{args.provider} SDK import: {time.perf_counter() - started:.2f} s (not in the in-process figures)")
        if not args.process_only:
            ok &= await in_process(ws, args, profiler)
        ws.close()
        if args.provider == "openai":
            ok &= whole_processes(tmp, port, args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
        if profiler:
            profiler.dump_stats(args.profile)
            print(f"profile written to {args.profile} (python -m pstats {args.profile})")
    return 0 if ok else 1


async def in_process(ws, args: argparse.Namespace, profiler: cProfile.Profile | None) -> bool:  # type: ignore[no-untyped-def]
    """The engine in this process (the SDK import excluded): wall ÷ ideal per concurrency, then a cached re-run."""
    ok = True
    print(
        f"{'C':>4} {'calls':>6} {'wall s':>8} {'ideal s':>8} {'ratio':>6} {'CPU ms/call':>12} "
        f"{'call p50/p95 ms':>16}  errors  status"
    )
    goals = {32: 1.10, 64: 1.25}
    for c in [c for c in args.concurrency for _ in range(args.repeat)]:
        if profiler:
            profiler.enable()
        r = await one_replay(ws, c, use_cache=False)
        if profiler:
            profiler.disable()
        ideal = r["calls"] * args.latency / c
        ratio = r["wall"] / ideal if ideal else float("nan")
        goal = goals.get(c)
        mark = "" if goal is None else ("  ok" if ratio <= goal else f"  MISSED (goal ≤ {goal:.2f})")
        ok &= goal is None or ratio <= goal
        print(
            f"{c:>4} {r['calls']:>6} {r['wall']:>8.2f} {ideal:>8.2f} {ratio:>6.3f} "
            f"{1000 * r['cpu'] / max(r['calls'], 1):>12.2f} {r['p50']:>8.0f}/{r['p95']:<7.0f}  {r['errors']:>6}  "
            f"{r['status']}{mark}"
        )
    r = await one_replay(ws, 8, use_cache=True)
    mark = "  ok" if r["wall"] <= 1.0 else "  MISSED (goal ≤ 1 s)"
    ok &= r["wall"] <= 1.0
    print(
        f"cached re-run: {r['cached']} of {r['results']} results from the cache, {r['calls']} calls, "
        f"wall {r['wall']:.2f} s{mark}"
    )
    return ok


RAW_SCRIPT = """
import asyncio, json, sys
from openai import AsyncOpenAI

async def main(base_url, items_path, concurrency):
    client = AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=2, timeout=30)
    gate = asyncio.Semaphore(concurrency)
    contents = [json.loads(line)["content"] for line in open(items_path) if line.strip()]

    async def one(text):
        async with gate:
            reply = await client.chat.completions.create(model="bench-model", max_tokens=200, messages=[
                {"role": "system", "content": "You are a content moderator."},
                {"role": "user", "content": "Classify: <content>" + text + "</content>"}])
            return reply.choices[0].message.content

    answers = await asyncio.gather(*(one(t) for t in contents))
    print(len(answers))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def loop_name() -> str:
    from modtui.replay.eventloop import loop_factory

    return "uvloop" if loop_factory() else "asyncio"


def _timed_cpu(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU seconds) of one whole process; the CPU time holds better than the wall on a loaded machine."""
    wall, cpu, _ = _timed_process(argv, env)
    return wall, cpu


def _timed_process(argv: list[str], env: dict[str, str], port: int | None = None) -> tuple[float, float, str]:
    """(wall, CPU seconds, where the wall went) of one whole process. With the fake server's port: when its first
    call reached the server and its last answer left, from the process's start (tests/fakeserver.py `/_stats`)."""
    import resource

    if port is not None:
        _server_stats(port)  # forget what came before
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, started_at = time.perf_counter(), time.time()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    split = ""
    if port is not None and (stats := _server_stats(port))["first_at"] is not None:
        first, last = stats["first_at"] - started_at, stats["last_done"] - started_at
        split = f"{first:.2f}+{last - first:.2f}+{wall - last:.2f}"
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, split


def _server_stats(port: int) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=10) as reply:
        return dict(json.loads(reply.read()))


def compile_modtui() -> None:
    """Byte-compile modtui's modules, as `pip install` does for an installed package: with PYTHONDONTWRITEBYTECODE set
    (some shells and containers set it) an editable install would otherwise compile every module on every start."""
    import compileall

    import modtui

    compileall.compile_dir(str(Path(modtui.__file__).parent), quiet=1)


def whole_processes(tmp: Path, port: int, args: argparse.Namespace) -> bool:
    """modtui replay and a raw AsyncOpenAI script, each timed as a whole process, side by side."""
    modtui = str(Path(sys.executable).with_name("modtui"))
    compile_modtui()
    env = {**os.environ, KEY_ENV: "sk-bench-not-a-real-key"}
    raw = tmp / "raw_openai.py"
    raw.write_text(RAW_SCRIPT)
    items = tmp / "incidents" / INCIDENT / "items.jsonl"
    replay = [modtui, "--workspace", str(tmp), "replay", INCIDENT, "-m", "bench", "--format", "json"]
    goals = {32: 0.95, 64: 0.95, 128: 1.0}
    ok = True
    print(
        f"\nwhole processes ({args.items} calls, latency {args.latency:g} s): modtui replay beside a raw "
        f"AsyncOpenAI script; load average {os.getloadavg()[0]:.2f}; event loop {loop_name()}"
    )
    print(
        f"{'C':>4} {'modtui s':>9} {'raw SDK s':>10} {'ideal s':>8} {'modtui/raw':>11}   "
        f"{'CPU ms/call modtui / raw':<26}{'start+calls+end s modtui / raw':<36}"
    )
    for c in [c for c in args.process_concurrency for _ in range(args.repeat)]:
        ours, our_cpu, our_split = _timed_process([*replay, "--no-cache", "-j", str(c)], env, port)
        theirs, their_cpu, their_split = _timed_process(
            [sys.executable, str(raw), f"http://127.0.0.1:{port}/v1", str(items), str(c)], env, port
        )
        ratio = ours / theirs
        goal = goals.get(c)
        mark = "" if goal is None else ("ok" if ratio <= goal else f"MISSED (goal ≤ {goal:.2f})")
        ok &= goal is None or ratio <= goal
        per_call = f"{1000 * our_cpu / args.items:.2f} / {1000 * their_cpu / args.items:.2f}"
        print(
            f"{c:>4} {ours:>9.2f} {theirs:>10.2f} {args.items * args.latency / c:>8.2f} {ratio:>11.3f}   "
            f"{per_call:<26}{our_split + ' / ' + their_split:<36}{mark}"
        )
    cached, cached_cpu = min(_timed_cpu(replay, env) for _ in range(3))
    print(
        f"cached re-run as a process (best of 3): {cached:.2f} s, CPU {cached_cpu:.2f} s; load average "
        f"{os.getloadavg()[0]:.2f}" + ("  ok" if cached <= 1.0 else "  MISSED (goal ≤ 1 s)")
    )
    helped, helped_cpu = min(_timed_cpu([modtui, "--help"], env) for _ in range(5))
    print(
        f"modtui --help as a process (best of 5): {helped:.2f} s, CPU {helped_cpu:.2f} s"
        + ("  ok" if helped <= 0.3 else "  MISSED (goal ≤ 0.3 s)")
    )
    return ok and cached <= 1.0 and helped <= 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32, 64])
    parser.add_argument(
        "--provider",
        choices=["openai", "anthropic", "sleep"],
        default="openai",
        help="sleep: no HTTP and no SDK, to measure the engine alone",
    )
    parser.add_argument("--repeat", type=int, default=1, help="measure each concurrency this many times")
    parser.add_argument("--profile", help="write a cProfile of the measured replays to this file")
    parser.add_argument(
        "--process-concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[32, 64, 128],
        help="concurrencies of the whole-process comparison",
    )
    parser.add_argument("--process-only", action="store_true", help="skip the in-process figures")
    from modtui.replay import eventloop

    raise SystemExit(eventloop.run(main_async(parser.parse_args())))  # the loop `modtui replay` runs on


if __name__ == "__main__":
    main()
