"""Small timings that tests must not assert (tests assert behaviour): each printed beside its ideal.

    .venv/bin/python bench/micro.py

- 64 concurrent calls through the OpenAI SDK to tests/fakeserver.py at 0.2 s latency: wall vs the ideal 0.2 s
  (the calls overlap; serial would be 12.8 s).
- McNemar's exact test at large n (the n > 1000 path): per call, against scipy's binomtest where installed.
- The key scrubber on a megabyte of text with a key fragment at its end: vs `str.replace` of the whole key
  (the floor: one pass over the text).
Not part of the test suite; figures in bench/README.md.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakeserver import FakeServer  # noqa: E402  (tests/ on the path above)

from modtui.analysis.significance import mcnemar_exact  # noqa: E402
from modtui.secrets import Scrubber  # noqa: E402

KEY = "sk-test-CANARY-7f3a9c2e5b1d4086"


def concurrent_calls(n: int = 64, latency: float = 0.2) -> None:
    import openai

    async def run(server: FakeServer) -> float:
        client = openai.AsyncOpenAI(api_key="sk-bench", base_url=f"{server.url}/v1", max_retries=0)
        ask = lambda text: client.chat.completions.create(  # noqa: E731
            model="m", messages=[{"role": "user", "content": text}]
        )
        await ask("warm-up")
        started = time.perf_counter()
        await asyncio.gather(*(ask(f"req {i} scam") for i in range(n)))
        wall = time.perf_counter() - started
        await client.close()
        return wall

    with FakeServer(latency=latency) as server:
        wall = asyncio.run(run(server))
    print(
        f"{n} concurrent calls at {latency} s: wall {wall:.3f} s, ideal {latency:.3f} s, "
        f"ratio {wall / latency:.2f} (serial {n * latency:.1f} s)"
    )


def mcnemar_large_n() -> None:
    cases = [(450, 551), (0, 1001), (480, 1520), (48_500, 51_500), (49_999, 50_001)]
    started = time.perf_counter()
    for b, c in cases:
        mcnemar_exact(b, c)
    ours = (time.perf_counter() - started) / len(cases)
    try:
        from scipy.stats import binomtest
    except ImportError:
        print(f"mcnemar_exact at n up to 100,000: {ours * 1000:.2f} ms a call (scipy not installed)")
        return
    started = time.perf_counter()
    for b, c in cases:
        _ = binomtest(b, b + c, 0.5).pvalue
    theirs = (time.perf_counter() - started) / len(cases)
    print(f"mcnemar_exact at n up to 100,000: {ours * 1000:.2f} ms a call; scipy binomtest {theirs * 1000:.2f} ms")


def scrub_megabyte() -> None:
    text = ("lorem ipsum dolor sit amet " * 40_000) + KEY[4:20]
    scrub = Scrubber([KEY, "sk-ant-OTHER-0123456789abcdef"])
    started = time.perf_counter()
    scrub(text)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    text.replace(KEY, "[REDACTED]")
    floor = time.perf_counter() - started
    print(
        f"scrub {len(text) / 1e6:.1f} MB with a fragment at its end: {ours * 1000:.1f} ms "
        f"(one str.replace pass: {floor * 1000:.2f} ms)"
    )


if __name__ == "__main__":
    concurrent_calls()
    mcnemar_large_n()
    scrub_megabyte()
