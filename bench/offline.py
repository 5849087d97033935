"""The offline `rules` baseline at production volume (issue 18): a whole `modtui replay -m offline` process.

    .venv/bin/python bench/offline.py [--items 25000[,50000]] [--prompt hate_speech/production] [--repeat N]
                                      [--profile out.prof]

Builds a temporary workspace holding the sample prompts and an incident of N posts from the seeded corpus of
tests/offline_corpus.py (leetspeak, look-alikes, zero-width characters, spaced letters, emoji, foreign scripts,
long posts), then measures, on the same machine in the same run:

- the ideal: the classifier alone, in this process, over the same posts (items/s of `CompiledPolicy.classify`,
  one core), and the interpreter's start-up with modtui's CLI imported;
- `modtui replay INC -m offline --format json` as the user runs it — a fresh process on a fresh log: wall time
  (start-up, loading and checking the incident, recording every result, the report), items/s, CPU time (user +
  sys, its worker processes included) and peak RSS (from wait4: the largest of the process and its workers);
- the same command again, unchanged (same prompt version, same items): served from the log.

Goals: ≥ 10,000 items/s whole process at 25,000 items (≤ 2.5 s wall), ≤ 300 MB peak RSS and flat per item beyond,
unchanged re-run ≤ 1.5 s. Each row also prints the load average before and after it: on a shared machine the walls
rise with it (CPU time much less), so compare rows taken at the same load. Not part of the test suite; figures in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import offline_corpus  # noqa: E402  (tests/offline_corpus.py: the seeded corpus)

INCIDENT = "INC-OFFLINE"


def modtui_cmd(ws: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("modtui")
    return [str(script), "--workspace", str(ws), *args]


def whole_process(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str, str]:
    """(wall s, CPU s, peak RSS bytes, stdout, stderr) of one process, its own rusage read with wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    import threading

    chunks: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: chunks.__setitem__(n, s.read()))
        for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{chunks['err'].decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, chunks["out"].decode(), chunks["err"].decode()


def in_process_classify(prompt: str, contents: list[str]) -> float:
    """Items/s of the classifier alone (one core, this process): the ideal the whole process is compared with."""
    from modtui.policy.classify import compile_policy

    policy, labels, positive = offline_corpus._prompt(prompt)
    compiled = compile_policy(policy)  # type: ignore[arg-type]
    started = time.perf_counter()
    for content in contents:
        compiled.classify(content, labels, positive_label=positive)
    return len(contents) / (time.perf_counter() - started)


def start_up(env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import modtui.cli"], check=True, env=env)
        best = min(best, time.perf_counter() - started)
    return best


def build(ws: Path, n: int, prompt: str) -> None:
    shutil.copytree(ROOT / "prompts", ws / "prompts")
    offline_corpus.write_incident(ws, INCIDENT, n)
    yaml_path = ws / "incidents" / INCIDENT / "incident.yaml"
    policy = prompt.split("/")[0]
    yaml_path.write_text(
        yaml_path.read_text()
        .replace("hate_speech/production.yaml", f"{prompt}.yaml")
        .replace("policy: hate_speech", f"policy: {policy}")
    )


def compile_modtui() -> None:
    """Byte-compile modtui's modules, as `pip install` does for an installed package: with PYTHONDONTWRITEBYTECODE set
    (some shells and containers set it) an editable install would otherwise compile every module on every start."""
    import compileall

    import modtui

    compileall.compile_dir(str(Path(modtui.__file__).parent), quiet=1)


def bench(n: int, prompt: str, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="modtui-offline-") as tmp:
        ws = Path(tmp)
        build(ws, n, prompt)
        contents = [str(r["content"]) for r in offline_corpus.items(n)]
        ideal = in_process_classify(prompt, contents)
        argv = modtui_cmd(ws, "replay", INCIDENT, "-m", "offline", "--format", "json")
        wall, cpu, rss, out, _err = whole_process(argv, env)
        doc = json.loads(out)
        run = doc["runs"][0]
        assert run["items"] == n and run["status"] == "completed", run
        again, again_cpu, again_rss, out2, _ = whole_process(argv, env)
        run2 = json.loads(out2)["runs"][0]
        assert run2["items"] == n and run2["status"] == "completed", run2
        same = (run2["tp"], run2["fp"], run2["fn"], run2["tn"]) == (run["tp"], run["fp"], run["fn"], run["tn"])
        assert same, "the re-run's verdicts differ"
        return {
            "n": n,
            "ideal": ideal,
            "wall": wall,
            "cpu": cpu,
            "rss": rss,
            "again": again,
            "again_cpu": again_cpu,
            "again_rss": again_rss,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", default="25000", help="comma-separated sizes (default 25000)")
    parser.add_argument("--prompt", default="hate_speech/production")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", help="cProfile the in-process classify pass into this file")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODTUI_")} | {"MODTUI_AUTHOR": "bench"}
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; prompt {args.prompt}"
    )
    compile_modtui()
    print(f"start-up (python -c 'import modtui.cli', best of 3): {start_up(env):.2f} s")
    if args.profile:
        contents = [str(r["content"]) for r in offline_corpus.items(int(args.items.split(",")[0]))]
        cProfile.runctx("in_process_classify(args.prompt, contents)", globals(), locals(), args.profile)
    print(
        "| items | in-process classify, 1 core (ideal) | whole process: wall | items/s | CPU s | peak RSS | "
        "unchanged re-run: wall | CPU s | RSS | load average |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.items.split(",")):
        for _ in range(args.repeat):
            load = os.getloadavg()[0]
            r = bench(size, args.prompt, env)
            ok = r["wall"] <= 2.5 * size / 25_000 and r["rss"] <= 300e6 and r["again"] <= 1.5 * max(1.0, size / 25_000)
            print(
                f"| {size:,} | {r['ideal']:,.0f} items/s | {r['wall']:.2f} s | {size / r['wall']:,.0f} | "
                f"{r['cpu']:.2f} | {r['rss'] / 1e6:.0f} MB | {r['again']:.2f} s | {r['again_cpu']:.2f} | "
                f"{r['again_rss'] / 1e6:.0f} MB | {load:.2f} → {os.getloadavg()[0]:.2f} |"
                f"{'' if ok else ' (over the goal)'}"
            )
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
