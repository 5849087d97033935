"""Near-duplicate clusters: the sample incidents' waves, the CLI contract, thresholds, determinism, scale."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import copy_samples

from modtui.analysis import cluster as cl
from modtui.analysis.cluster import Entry, cluster, cluster_key
from modtui.cli import cluster as cli_cluster
from modtui.services.cluster import clusters_for, membership
from modtui.workspace import Workspace

SAMPLES = ("INC-0042", "INC-0057", "INC-0063")


@pytest.fixture
def samples(tmp_path: Path, migrated_log: Path) -> Path:
    """A copy of the repository's sample incidents and prompts."""
    return copy_samples(tmp_path / "samples", migrated_log)


def _items(root: Path, incident: str) -> dict[str, str]:
    return {i.id: i.content for i in Workspace.open(root).load_incident(incident).items}


# -- the samples' waves -----------------------------------------------------------------------------------


@pytest.mark.parametrize("incident", SAMPLES)
def test_each_sample_incident_has_its_waves(samples: Path, incident: str) -> None:
    """The samples hold 4-5 waves of 8+ near-identical posts each (a template with small edits)."""
    clusters = clusters_for(Workspace.open(samples), incident)
    waves = [c for c in clusters if c.size >= 8]
    assert 4 <= len(waves) <= 5, [(c.size, c.representative) for c in clusters]
    contents = _items(samples, incident)
    for c in waves:
        assert c.size == len(c.items) == len(set(c.items)) == sum(c.kinds.values())
        assert c.representative in c.items
        assert c.preview and contents[c.representative].startswith(c.preview.rstrip("…"))
        assert len(c.kinds) == 1  # a wave is all failing (one kind) or all guard in these samples
    sizes = [c.size for c in clusters]
    assert sizes == sorted(sizes, reverse=True)
    assert [c.id for c in clusters] == list(range(1, len(clusters) + 1))


def test_a_wave_holds_the_template_and_its_edits(samples: Path) -> None:
    clusters = clusters_for(Workspace.open(samples), "INC-0042")
    contents = _items(samples, "INC-0042")
    rats = next(c for c in clusters if "like rats" in contents[c.representative])
    assert all("grobniks in" in contents[i] and "like rats" in contents[i] for i in rats.items)
    assert rats.kinds == {"guard": len(rats.items)}
    assert set(membership(clusters)) == {i for c in clusters for i in c.items}


def test_numbers_case_and_leetspeak_are_folded() -> None:
    assert cluster_key("Send 0.2 BTC to WIN") == cluster_key("send 15 btc to w1n")
    entries = [
        Entry("a", "FREE M0NEY!!! claim 100 coins at example.com now"),
        Entry("b", "free money!!! claim 5,000 coins at example.com now"),
        Entry("c", "Our bakery opens at 7am tomorrow"),
    ]
    clusters = cluster(entries, 95)
    assert [c.items for c in clusters] == [["a", "b"]]


def test_threshold_tightens_and_min_size_filters(samples: Path) -> None:
    ws = Workspace.open(samples)
    loose, tight = clusters_for(ws, "INC-0057", 70), clusters_for(ws, "INC-0057", 99)
    assert sum(c.size for c in tight) < sum(c.size for c in loose)
    every = clusters_for(ws, "INC-0057", 85, min_size=1)
    assert sum(c.size for c in every) == len(_items(samples, "INC-0057"))
    assert all(c.size >= 8 for c in clusters_for(ws, "INC-0057", 85, min_size=8))


def test_output_is_deterministic_and_independent_of_the_lsh_path(samples: Path) -> None:
    items = Workspace.open(samples).load_incident("INC-0063").items
    entries = [Entry(i.id, i.content, i.kind.value if i.kind else "eval") for i in items]
    first = cluster(entries)
    assert cluster(entries) == first
    limit, cl.EXACT_LIMIT = cl.EXACT_LIMIT, 0  # force the LSH candidate path on a small incident
    try:
        assert cluster(entries) == first
    finally:
        cl.EXACT_LIMIT = limit


def test_empty_and_odd_texts() -> None:
    assert cluster([]) == []
    clusters = cluster([Entry("a", ""), Entry("b", ""), Entry("c", "🙂"), Entry("d", "🙂"), Entry("e", "x")])
    assert [c.items for c in clusters] == [["a", "b"], ["c", "d"]]


def test_threshold_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        cluster([Entry("a", "x")], 101)
    with pytest.raises(ValueError):
        cluster([Entry("a", "x")], -1)


def test_lsh_finds_the_pairs_brute_force_finds() -> None:
    """Above EXACT_LIMIT distinct texts the candidate path runs: every pair ≥ threshold ends in one cluster."""
    rng = random.Random(3)
    words = sorted({"".join(rng.choices("abcdefghiklmnoprstuvwy", k=rng.randint(2, 9))) for _ in range(600)})
    entries: list[Entry] = []
    for wave in range(12):
        template = rng.choices(words, k=rng.randint(10, 25))
        for n in range(rng.randint(5, 40)):
            edited = list(template)
            edited[rng.randrange(len(edited))] = rng.choice(words)
            entries.append(Entry(f"w{wave}-{n}", " ".join(edited)))
    entries += [Entry(f"u{n}", " ".join(rng.choices(words, k=rng.randint(5, 30)))) for n in range(600)]
    rng.shuffle(entries)
    keys = [cluster_key(e.text) for e in entries]
    assert len(set(keys)) > cl.EXACT_LIMIT
    where = {item: c.id for c in cluster(entries, 85) for item in c.items}
    pairs = list(cl.pairs_above(keys, 85))
    assert pairs
    together = sum(1 for i, j in pairs if entries[i].id in where and where[entries[i].id] == where.get(entries[j].id))
    assert together / len(pairs) >= 0.98


# -- CLI ------------------------------------------------------------------------------------------------


def test_cli_json_shape(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(samples, "cluster", "INC-0042", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["incident"] == "INC-0042" and data["threshold"] == 85
    assert data["clusters"]
    for c in data["clusters"]:
        assert {"id", "size", "items", "kinds", "representative"} <= set(c)
        assert c["size"] == len(c["items"]) and c["representative"] in c["items"]
        assert isinstance(c["kinds"], dict) and sum(c["kinds"].values()) == c["size"]
    again = run_cli(samples, "cluster", "INC-0042", "--format", "json")
    assert again.stdout == result.stdout


def test_cli_table_is_inert(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    items = samples / "incidents" / "INC-0063" / "items.jsonl"
    lines = items.read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    template = rows[0]
    for n in range(3):  # a wave whose text carries a terminal escape
        rows.append({**template, "id": f"esc-{n}", "content": f"\x1b[31mred alert\x1b[0m wave post number {n} here"})
    items.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_cli(samples, "cluster", "INC-0063", "--min-size", "3")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b[31mred alert" in result.stdout
    assert "SIZE" in result.stdout.splitlines()[0] and "clusters holding" in result.stderr


@pytest.mark.parametrize(
    "args", [("--threshold", "101"), ("--threshold", "-5"), ("--threshold", "abc"), ("--min-size", "0")]
)
def test_cli_bad_options_exit_2(samples: Path, run_cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(samples, "cluster", "INC-0042", *args)
    assert result.exit_code == 2


def test_cli_unknown_incident_exit_2(samples: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(samples, "cluster", "INC-0043")
    assert result.exit_code == 2 and "no incident 'INC-0043'" in result.stderr and "did you mean" in result.stderr


def test_cli_default_matches_the_analysis() -> None:
    assert cli_cluster.DEFAULT_THRESHOLD == cl.DEFAULT_THRESHOLD
