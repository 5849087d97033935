"""Evasion probes: the mutations, `modtui probe` on the samples (offline: no flips for what the normaliser undoes)
and on a fake HTTP target that matches words literally (flips), the JSON contract, the gate, the log."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_samples

from modtui.policy.normalize import normalize
from modtui.probes.mutations import MUTATIONS
from modtui.probes.variants import make_variants, mutate
from modtui.services.probe import PREFIX

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ["INC-0042", "INC-0057", "INC-0063"]
POLICIES = {"INC-0042": "hate_speech", "INC-0057": "scam_spam", "INC-0063": "violent_threats"}
NORMALISED = ["leet", "homoglyph", "zero_width", "spacing"]  # the offline rules target folds these away
RUN_KEYS = {"run_id", "target", "prompt", "status", "mutations"}
MUTATION_KEYS = {"name", "variants", "flipped", "flip_rate", "flip_rate_ci", "no_verdict", "by_rule", "flipped_items"}
FLIPPED_KEYS = {"parent_id", "variant_id", "variant", "parent_label", "variant_label"}
TEXT = "Nobody wants grobniks in Kingsport, they are vermin. Mail a@b.com or see https://x.io/scam, mp3 ok"


# ------------------------------------------------------------------ the mutations (pure)
def test_each_mutation_changes_the_words_and_leaves_addresses_and_numbers_alone() -> None:
    for name, mutation in MUTATIONS.items():
        out = mutation(TEXT, random.Random(3))
        assert out != TEXT, name
        for kept in ("a@b.com", "https://x.io/scam", "mp3"):
            assert kept in out, (name, out)


def test_mutations_as_the_issue_defines_them() -> None:
    rng = random.Random(0)
    assert MUTATIONS["leet"]("proud grobnik, so sassy", rng) == "pr0ud gr0bn1k, so s455y"
    homo = MUTATIONS["homoglyph"]("paypal scam", random.Random(1))
    assert homo != "paypal scam" and all(any(c.isascii() for c in w) for w in homo.split())  # mixed-script words
    assert MUTATIONS["spacing"]("free money now", rng) == "f r e e  m o n e y  now"
    zw = MUTATIONS["zero_width"]("scam", random.Random(2))
    assert zw.replace("\u200b", "").replace("\u200c", "") == "scam" and len(zw) > 4
    assert (
        MUTATIONS["case"]("vermin", random.Random(5)).lower()
        == "vermin"
        != MUTATIONS["case"]("vermin", random.Random(5))
    )
    punct = MUTATIONS["punct"]("vermin", random.Random(4))
    assert len(punct) == 7 and punct.replace(".", "").replace("-", "") == "vermin"
    emoji = MUTATIONS["emoji"]("they are vermin", random.Random(6))
    assert emoji.split()[0] == "they" and len(emoji.split()) > 3 and not emoji.isascii()
    typo = MUTATIONS["typo"]("kill them all", random.Random(7))  # "kill" is short: no long word to slip
    assert typo == "kill them all"
    slipped = MUTATIONS["typo"]("parasites", random.Random(7))
    assert len(slipped) == 9 and sum(a != b for a, b in zip(slipped, "parasites")) == 1


@pytest.mark.parametrize("name", NORMALISED)
def test_the_normaliser_undoes_the_mutations_it_should(name: str) -> None:
    """The same check the offline probes make, on every sample item, text against text."""
    for inc in SAMPLES:
        for line in (ROOT / "incidents" / inc / "items.jsonl").read_text(encoding="utf-8").splitlines():
            content = json.loads(line)["content"]
            for seed in range(3):
                assert normalize(mutate(content, name, seed)) == normalize(content), (inc, content, seed)


def test_variants_are_reproducible_from_their_seed_and_distinct() -> None:
    parents = [("i-1", "they are vermin and parasites"), ("i-2", "a")]
    first = make_variants(parents, ["case", "typo", "leet"], per_item=4, seed=9)
    assert first == make_variants(parents, ["case", "typo", "leet"], per_item=4, seed=9)
    assert all(v.content == mutate(dict(parents)[v.parent_id], v.mutation, v.seed) for v in first)
    assert all(v.parent_id == "i-1" for v in first)  # "a": nothing any of them changes
    leet = [v for v in first if v.mutation == "leet"]
    assert len(leet) == 1  # leet has one way to spell a text: repeats of it are dropped
    assert len({v.content for v in first}) == len(first)


# ------------------------------------------------------------------ modtui probe on the samples, offline
@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, migrated_log: Path) -> Path:
    return copy_samples(tmp_path_factory.mktemp("samples"), migrated_log)


@pytest.mark.parametrize("inc", SAMPLES)
def test_offline_flip_rate_is_zero_for_what_the_normaliser_undoes(run_cli: Any, samples: Path, inc: str) -> None:
    policy = POLICIES[inc]
    done = run_cli(
        samples,
        "probe",
        inc,
        "--mutations",
        ",".join(NORMALISED),
        "--per-item",
        "3",
        "--seed",
        "11",
        "-p",
        f"prompts/{policy}/production.yaml",
        "-p",
        f"prompts/{policy}/candidate.yaml",
        "--fail-over",
        "0",
        "--format",
        "json",
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["incident"] == inc and len(report["runs"]) == 2
    for run in report["runs"]:
        assert set(run) == RUN_KEYS and run["target"] == "offline" and run["status"] == "completed"
        assert [m["name"] for m in run["mutations"]] == NORMALISED
        for m in run["mutations"]:
            assert set(m) == MUTATION_KEYS
            assert m["variants"] > 0 and m["flipped"] == 0 and m["flip_rate"] == 0.0, (run["prompt"], m)
            assert m["flip_rate_ci"][0] == 0.0 and 0 < m["flip_rate_ci"][1] < 0.2
            assert m["by_rule"] and all(v["flipped"] == 0 for v in m["by_rule"].values())


def test_offline_shows_the_flips_of_what_it_does_not_undo_and_the_gate_fails(run_cli: Any, samples: Path) -> None:
    done = run_cli(samples, "probe", "INC-0042", "--mutations", "punct,typo", "--fail-over", "0.05", "--format", "json")
    assert done.exit_code == 1, done.output
    assert "gate failed" in done.stderr and "punct" in done.stderr
    runs = json.loads(done.stdout)["runs"]
    punct = runs[0]["mutations"][0]
    assert punct["flipped"] == len(punct["flipped_items"]) > 0
    flip = punct["flipped_items"][0]
    assert set(flip) == FLIPPED_KEYS and flip["parent_label"] != flip["variant_label"]
    assert flip["variant_id"].startswith(flip["parent_id"] + "~punct~")
    assert sum(v["flipped"] for v in punct["by_rule"].values()) >= 1


def test_variants_stay_out_of_the_incident(run_cli: Any, samples: Path) -> None:
    before = run_cli(samples, "incident", "show", "INC-0057", "--format", "json")
    run_cli(samples, "probe", "INC-0057", "--mutations", "leet,typo", "--items", "failing")
    after = run_cli(samples, "incident", "show", "INC-0057", "--format", "json")
    assert json.loads(before.stdout)["counts"] == json.loads(after.stdout)["counts"]
    runs = json.loads(run_cli(samples, "runs", "list", "INC-0057", "--format", "json").stdout)["runs"]
    assert all(r["incident"] == "INC-0057" for r in runs)
    assert not any(r.get("items") and "probe" in str(r) for r in runs)
    with sqlite3.connect(samples / ".modtui" / "modtui.db") as db:
        own = db.execute(
            "SELECT COUNT(*) FROM item WHERE incident_id = 'INC-0057' AND parent_id IS NOT NULL"
        ).fetchone()
        derived = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT mutation) FROM item "
            "WHERE incident_id = 'probe:INC-0057' AND parent_id IS NOT NULL"
        ).fetchone()
        events = db.execute("SELECT summary FROM event WHERE incident_id = 'INC-0057' AND kind = 'probe'").fetchall()
    assert own == (0,) and derived[0] > 0 and derived[1] >= 2  # variants of earlier probes are kept too
    assert events and "leet" in events[-1][0] and "typo" in events[-1][0]
    # the probe runs are listed under the name `runs list` shows them by (it said "no incident 'probe:INC-0057'")
    probes = run_cli(samples, "runs", "list", f"{PREFIX}INC-0057", "--format", "json")
    assert probes.exit_code == 0, probes.stderr
    listed = json.loads(probes.stdout)["runs"]
    assert listed and all(r["incident"] == "probe:INC-0057" for r in listed)
    assert "no incident 'INC-0058'" in run_cli(samples, "runs", "list", "probe:INC-0058").stderr


def test_bad_mutation_names_are_usage_errors(run_cli: Any, samples: Path) -> None:
    done = run_cli(samples, "probe", "INC-0042", "--mutations", "leet,leeet")
    assert done.exit_code == 2 and "leeet" in done.stderr and "leet" in done.stderr


# ------------------------------------------------------------------ a fake HTTP target matching words literally
@pytest.fixture
def ws(served_workspace: Path) -> Path:
    return served_workspace


def test_a_literal_http_target_flips_under_every_mutation_the_normaliser_undoes(
    run_cli: Any, ws: Path, fake_server: Any
) -> None:
    done = run_cli(
        ws,
        "probe",
        "INC-T1",
        "-m",
        "gpt-mini",
        "--mutations",
        ",".join(NORMALISED),
        "--fail-over",
        "0.5",
        "--format",
        "json",
    )
    run = json.loads(done.stdout)["runs"][0]
    assert run["target"] == "gpt-mini" and run["prompt"] == "toxicity/production"
    by_name = {m["name"]: m for m in run["mutations"]}
    for name in NORMALISED:
        assert by_name[name]["flipped"] > 0, by_name[name]
        assert all(
            f["parent_label"] == "toxic" and f["variant_label"] == "ok" for f in by_name[name]["flipped_items"]
        )  # the words it matches are spelt another way
    gated = any(m["flip_rate"] > 0.5 for m in run["mutations"])
    assert done.exit_code == (1 if gated else 0), done.output
    calls = fake_server.count()
    again = run_cli(ws, "probe", "INC-T1", "-m", "gpt-mini", "--mutations", ",".join(NORMALISED), "--format", "json")
    assert json.loads(again.stdout)["runs"][0]["mutations"] == run["mutations"]
    assert fake_server.count() == calls  # the same variants: every reply from the cache


def test_an_interrupted_probe_resumes_its_run(run_cli: Any, ws: Path, fake_server: Any) -> None:
    args = ("probe", "INC-T1", "-m", "gpt-mini", "--mutations", "leet,typo", "--per-item", "2", "--format", "json")
    first = json.loads(run_cli(ws, *args).stdout)["runs"][0]
    with sqlite3.connect(ws / ".modtui" / "modtui.db") as db:  # as a kill would leave it
        db.execute("DELETE FROM result WHERE run_id = ? AND item_id LIKE '%~typo~%'", (first["run_id"],))
        db.execute("DELETE FROM response_cache")  # so the resumed calls reach the target
        db.execute("UPDATE run SET status = 'interrupted' WHERE id = ?", (first["run_id"],))
    typo = next(m for m in first["mutations"] if m["name"] == "typo")
    calls = fake_server.count()
    again = run_cli(ws, *args)
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)["runs"][0]
    assert resumed["run_id"] == first["run_id"] and resumed["status"] == "completed"
    assert resumed["mutations"] == first["mutations"]
    assert fake_server.count() - calls == typo["variants"] + typo["no_verdict"]
