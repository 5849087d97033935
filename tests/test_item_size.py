"""Issue 17, an item of any size: clusters, precedents, slices and report previews read the first
FEATURE_CHARS characters of each item (domain.incident.feature_text), so their memory and time stay bounded
per item. (Speed and memory are measured by hand: bench/, never timed here.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modtui.domain.incident import FEATURE_CHARS

HEAD = "buy cheap pills now at the usual place, limited offer " * (FEATURE_CHARS // 50)


def _items(root: Path, tails: list[str]) -> None:
    path = root / "incidents" / "INC-T1" / "items.jsonl"
    lines = path.read_text().splitlines()
    lines += [
        json.dumps({"id": f"big-{n}", "content": HEAD[:FEATURE_CHARS] + tail, "expected": "toxic", "observed": "ok"})
        for n, tail in enumerate(tails)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_features_read_the_head_of_a_big_item(workspace: Path, run_cli: Any) -> None:
    """Two posts with the same first 20,000 characters and 300,000 different ones after: one cluster (only
    the heads are compared), the nearest precedent of each other, and a short report preview."""
    _items(workspace, ["".join(chr(0x4E00 + (i * 7919 + n) % 20000) for i in range(300_000)) for n in (1, 2)])
    clusters = run_cli(workspace, "cluster", "INC-T1", "--format", "json")
    assert clusters.exit_code == 0, clusters.stderr
    groups = [sorted(c["items"]) for c in json.loads(clusters.stdout)["clusters"]]
    assert ["big-0", "big-1"] in groups
    report = run_cli(workspace, "report", "INC-T1", "--format", "json")
    assert report.exit_code == 0, report.stderr
    previews = [c["preview"] for c in json.loads(report.stdout)["conditions"]["clusters"]]
    assert previews and max(map(len, previews)) < 1_000
