"""The handoff report as Markdown, rendered from the report's JSON data (services.report.build)."""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MARKUP = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]", "!": "\\!", "`": "\\`", "<": "&lt;"})
# what GFM viewers autolink: URLs with a scheme, www. names, e-mail addresses
_LINKABLE = re.compile(r"(?i)\b(?:https?|ftp)://[^\s<>]*|\bwww\.[^\s<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def render(data: dict[str, Any]) -> str:
    inc = data["incident"]
    parts = [
        f"# Handoff: {_text(inc['id'])} — {_text(inc['title'])}",
        _provenance(data),
        "## Summary",
        _text(data["summary"]),
        _status(inc),
        _conditions(data["conditions"]),
        _agreement(data.get("root_cause")),
        _actions(data["actions"]),
        _where_errors(data.get("root_cause")),
        _calibration(data.get("root_cause")),
        _findings(data["findings"]),
        _robustness(data.get("robustness")),
        _needs(data["needs"]),
        _timeline(data["timeline"]),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _provenance(data: dict[str, Any]) -> str:
    opts = data["options"]
    notes = [f"generated {data['generated_at']} by modtui ({data['schema']})"]
    if opts["redacted"]:
        notes.append("item content and personal data redacted")
    elif opts["masked"] and opts["masked_items"]:
        notes.append(
            f"content of {opts['masked_items']} item(s) masked by the workspace's wellbeing setting "
            f"(`--no-mask` shows it)"
        )
    return "_" + "; ".join(notes) + "_"


def _status(inc: dict[str, Any]) -> str:
    rows = [
        ("severity", inc["severity"]),
        ("status", inc["status"]),
        ("policy", inc["policy"]),
        ("labels", f"{', '.join(inc['labels'])} (positive: {inc['positive_label']})"),
        ("production", f"{inc['production']['prompt']} on {inc['production']['model']}"),
        ("opened", inc["opened_at"] or "-"),
        ("reported by", inc["reported_by"] or "-"),
        ("tags", ", ".join(inc["tags"]) or "-"),
    ]
    out = "## Current status\n\n" + _table(("field", "value"), rows)
    if inc["description"]:
        out += "\n\n" + "\n".join("> " + _text(line) for line in inc["description"].splitlines())
    return out


def _conditions(cond: dict[str, Any]) -> str:
    k = cond["by_kind"]
    lines = [
        f"- **{cond['failing']} failing** of {cond['items']} items: {k['false_positive']} false positives, "
        f"{k['false_negative']} false negatives; {k['guard']} guard items, {k['eval']} eval items."
    ]
    corrections = cond["corrected_labels"]
    if corrections:
        shown = ", ".join(
            f"{_text(i)} {c['original']} → {c['corrected']} (#{c['finding']})" for i, c in corrections.items()
        )
        lines.append(f"- **{len(corrections)} gold label(s) disputed** by label_error findings: {shown}.")
    clusters = cond["clusters"]
    if clusters:
        shown = f", the {len(clusters)} largest" if cond["cluster_count"] > len(clusters) else ""
        lines.append(f"- **{cond['cluster_count']} near-duplicate cluster(s)**{shown} (a wave or template):")
        lines += [
            f"  - cluster {c['id']}: {c['size']} items ({_kinds(c['kinds'])}), e.g. {_text(c['representative'])}: "
            f"{_text(c['preview'])}"
            for c in clusters
        ]
    else:
        lines.append("- No near-duplicate clusters.")
    return "## Conditions\n\n" + "\n".join(lines)


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in kinds.items())


def _actions(actions: dict[str, Any]) -> str:
    runs = actions["runs"]
    if not runs:
        return "## Actions taken\n\nNo runs yet: nothing has been replayed on this incident."
    rows = [
        (
            f"{r['run_id']}",
            r["target"],
            r["prompt"] + (" (production)" if r["production"] else ""),
            r["prompt_version"],
            r["item_set"],
            str(r["items"]),
            r["status"],
            _ci(r["precision"], r.get("precision_ci")),
            _ci(r["recall"], r.get("recall_ci")),
            _num(r["f1"]),
            _int(r["fixed"]),
            _int(r["regressed"]),
            r.get("baseline") or "-",
            _p(r["mcnemar_p"]),
            r["author"],
            r["started_at"][:16],
        )
        for r in runs
    ]
    out = [
        "## Actions taken",
        f"### Runs ({len(runs)})",
        _table(
            (
                "run",
                "target",
                "prompt",
                "version",
                "set",
                "items",
                "status",
                "P",
                "R",
                "F1",
                "fixed",
                "regressed",
                "against",
                "McNemar p",
                "by",
                "started",
            ),
            rows,
        ),
    ]
    out.append(
        "### Prompt versions tried\n\n"
        + "\n".join(
            f"- `{v['version']}` {_text(v['path'])}{' (production)' if v['production'] else ''}: runs "
            + ", ".join(map(str, v["runs"]))
            for v in actions["prompt_versions"]
        )
    )
    out.append(_best(actions["best_candidate"]))
    return "\n\n".join(out)


def _best(best: dict[str, Any] | None) -> str:
    if best is None:
        return "### Best candidate\n\nNo candidate prompt has been replayed yet (only production)."
    vs = f" against {best['baseline']}" if best.get("baseline") else ""
    head = (
        f"### Best candidate: run {best['run_id']}, {_text(best['prompt'])} on {best['target']}\n\n"
        f"F1 {_num(best['f1'])}, precision {_num(best['precision'])}, recall {_num(best['recall'])}; "
        f"{_int(best['fixed'])} fixed and {_int(best['regressed'])} regressed{vs} (McNemar p {_p(best['mcnemar_p'])})."
    )
    diff = best["diff"] or "(no difference from production)\n"
    fence = "`" * max(3, _longest_backticks(diff) + 1)
    return f"{head}\n\nDiff against production:\n\n{fence}diff\n{_text(diff, keep_lines=True)}{fence}"


def _findings(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "## Findings\n\nNo findings recorded yet."
    out = ["## Findings (open first)"]
    for f in findings:
        status = f["status"] + (f" by #{f['superseded_by']}" if f["superseded_by"] else "")
        lines = [
            f"### #{f['id']} [{_text(f['category'])}] {status}: {_text(f['summary'])}",
            f"- by {_text(f['author'])} at {f['created_at'][:16]}",
        ]
        if f["fix"]:
            lines.append(f"- fix: {_text(f['fix'])}")
        if f["items"] or f["runs"]:
            lines.append(
                f"- evidence: items {', '.join(map(_text, f['items'])) or '-'}; runs "
                f"{', '.join(map(str, f['runs'])) or '-'}"
            )
        if f["corrections"]:
            lines.append(
                "- label corrections: "
                + ", ".join(f"{_text(c['item'])} {c['original']} → {c['corrected']}" for c in f["corrections"])
            )
        if f["resolution"]:
            lines.append(f"- {f['status']} at {(f['resolved_at'] or '')[:16]}: {_text(f['resolution'])}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _robustness(rob: dict[str, Any] | None) -> str:
    if not rob or not (rob["probes"] or rob["stability"] or rob["queue"]):
        return ""
    out = ["## Robustness"]
    if rob["probes"]:
        rows = [
            (
                r["run_id"],
                r["target"],
                r["prompt"],
                m["name"],
                m["variants"],
                m["flipped"],
                _num(m["flip_rate"]),
                "-" if m["flip_rate_ci"] is None else f"{m['flip_rate_ci'][0]:.3f}–{m['flip_rate_ci'][1]:.3f}",
            )
            for r in rob["probes"]
            for m in r["mutations"]
        ]
        out.append(
            "### Evasion probes (latest per target × prompt)\n\n"
            + _table(("run", "target", "prompt", "mutation", "variants", "flipped", "flip rate", "95% interval"), rows)
        )
    if rob["worst_rules"]:
        out.append(
            "### Rules most flipped\n\n"
            + _table(
                ("rule", "variants", "flipped", "flip rate"),
                [(w["rule"], w["variants"], w["flipped"], _num(w["flip_rate"])) for w in rob["worst_rules"]],
            )
        )
    if rob["stability"]:
        out.append(
            "### Repeat stability\n\n"
            + _table(
                ("run", "target", "prompt", "repeats", "unanimous", "flip rate", "majority F1", "unstable"),
                [
                    (
                        s["run_id"],
                        s["target"],
                        s["prompt"],
                        s["repeats"],
                        _num(s["unanimous"]),
                        _num(s["flip_rate"]),
                        _num(s["majority_f1"]),
                        s["unstable_count"],
                    )
                    for s in rob["stability"]
                ],
            )
        )
    if rob["queue"]:
        out.append(
            "### Review queue (top)\n\n"
            + _table(
                ("item", "score", "reasons", "content"),
                [(q["item"], _num(q["score"]), ", ".join(q["reasons"]), q["content"]) for q in rob["queue"]],
            )
        )
    return "\n\n".join(out)


def _run_title(r: dict[str, Any]) -> str:
    return (
        f"run {r['run_id']} ({r['role']}: {_text(r['target'])} × {_text(r['prompt'])}): "
        f"P {_ci(r['precision'], r['precision_ci'])}, R {_ci(r['recall'], r['recall_ci'])}, "
        f"F1 {_ci(r['f1'], r['f1_ci'])}, κ vs gold {_num(r['kappa_vs_gold'])}"
    )


def _where_errors(root: dict[str, Any] | None) -> str:
    if not root or not root["runs"]:
        return ""
    out = [
        "## Where the errors are",
        "Slices with the most false positives and false negatives (95% intervals; *small*: under 30 items, "
        "read with its interval), and how precisely each cited policy rule fires.",
    ]
    header = ("cut", "slice", "items", "FP", "FN", "precision", "recall", "")
    for r in root["runs"]:
        out.append(f"### {_run_title(r)}")
        for title, rows in (("Most false positives", r["top_fp"]), ("Most false negatives", r["top_fn"])):
            if rows:
                out.append(
                    f"{title}:\n\n"
                    + _table(
                        header,
                        [
                            (
                                s["by"],
                                s["key"],
                                s["items"],
                                s["fp"],
                                s["fn"],
                                _ci(s["precision"], s["precision_ci"]),
                                _ci(s["recall"], s["recall_ci"]),
                                "small" if s["small"] else "",
                            )
                            for s in rows
                        ],
                    )
                )
        if r["rules"]:
            out.append(
                "Per-rule precision (items whose verdict cited the rule):\n\n"
                + _table(
                    ("rule", "items", "TP", "FP", "precision", "", "false positives citing it"),
                    [
                        (
                            x["rule"],
                            x["items"],
                            x["tp"],
                            x["fp"],
                            _ci(x["precision"], x["precision_ci"]),
                            "small" if x["small"] else "",
                            ", ".join(x["cited_fp_items"]) or "-",
                        )
                        for x in r["rules"]
                    ],
                )
            )
        elif not (r["top_fp"] or r["top_fn"]):
            out.append("No errors in any slice.")
    return "\n\n".join(out)


def _calibration(root: dict[str, Any] | None) -> str:
    runs = [r for r in (root or {}).get("runs", []) if r["calibration"]]
    if not runs:
        return ""
    out = [
        "## Calibration",
        "Per confidence bin of the positive label's score: the share of items whose gold label is positive. "
        "A calibrated model has mean score ≈ positive rate; ECE is the count-weighted mean gap.",
    ]
    for r in runs:
        cal = r["calibration"]
        out.append(
            f"### run {r['run_id']} ({r['role']}): ECE {cal['ece']:.3f} over {cal['scored']} scored items\n\n"
            + _table(
                ("bin", "items", "mean score", "positive rate"),
                [
                    (f"{b['lo']:.1f}–{b['hi']:.1f}", b["count"], _num(b["mean_score"]), _num(b["positive_rate"]))
                    for b in cal["bins"]
                    if b["count"]
                ],
            )
        )
    return "\n\n".join(out)


def _agreement(root: dict[str, Any] | None) -> str:
    agree = (root or {}).get("agreement")
    if not agree:
        return ""
    fleiss = agree["fleiss_kappa"]
    lines = [
        f"- **{agree['items_annotated']} items annotated** by {', '.join(_text(a) for a in agree['annotators'])}; "
        f"Fleiss' κ {_num(None if fleiss is None else round(fleiss, 3) + 0.0)}"
        + (
            f" on {agree['fleiss_items']} items with {agree['fleiss_raters']} annotators."
            if agree["fleiss_raters"]
            else "."
        )
    ]
    out = ["## Label agreement", "\n".join(lines)]
    if agree["pairwise"]:
        out.append(
            _table(
                ("annotator", "annotator", "items both labelled", "Cohen's κ"),
                [(p["a"], p["b"], p["n"], _num(p["kappa"])) for p in agree["pairwise"]],
            )
        )
    dis = agree["disagreements"]
    if dis["count"]:
        out.append(
            f"**{dis['count']} item(s) the annotators disagree on** (beside the label disputes above):\n\n"
            + _table(
                ("item", "kind", "gold", "content"),
                [(i["item"], i["kind"], i["expected"], i["content"]) for i in dis["items"]],
            )
        )
    return "\n\n".join(out)


def _ci(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if not interval else f"{value:.3f} [{interval[0]:.2f}–{interval[1]:.2f}]"


def _needs(needs: dict[str, Any]) -> str:
    out = ["## Needs"]
    if needs["open_findings"]:
        out.append(
            "### Open questions\n\n"
            + "\n".join(
                f"- finding #{f['id']} [{_text(f['category'])}]: {_text(f['summary'])}" for f in needs["open_findings"]
            )
        )
    for key, title in (
        ("still_failing", "Still failing under the best candidate"),
        ("regressions", "Regressions to look at"),
    ):
        part = needs[key]
        if part["run_id"] is None:
            continue
        out.append(f"### {title} (run {part['run_id']}): {part['count']}")
        if part["items"]:
            rows = [(i["item"], i["kind"], i["expected"], i["label"] or "-", i["content"]) for i in part["items"]]
            more = f"\n\n… and {part['count'] - len(rows)} more." if part["count"] > len(rows) else ""
            out.append(_table(("item", "kind", "expected", "verdict", "content"), rows) + more)
    # modtui's own sentences (commands in code spans), naming only validated ids and names: not escaped
    out.append(
        "### Next steps\n\n"
        + "\n".join(
            f"{n}. {_CONTROL.sub(chr(0xFFFD), ' '.join(s.split()))}" for n, s in enumerate(needs["next_steps"], 1)
        )
    )
    return "\n\n".join(out)


def _timeline(timeline: list[dict[str, Any]]) -> str:
    if not timeline:
        return "## Timeline\n\nNothing recorded yet."
    rows = [(e["at"][:19].replace("T", " "), e["kind"], e["author"], e["summary"]) for e in timeline]
    return "## Timeline (oldest first)\n\n" + _table(("time", "kind", "author", "what"), rows)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return _text(str(value)).replace("|", "\\|")


def _text(value: str, keep_lines: bool = False) -> str:
    """Untrusted text made inert for Markdown viewers: no control characters, and (unless `keep_lines`, for text
    inside a code fence) on one line with no markup that acts — `[`, `]`, `!`, backticks and backslashes
    escaped, `<` as `&lt;` (no raw HTML), and anything a viewer would turn into a link (a URL, `www.`, an
    e-mail address) in a code span. Links and images in a report come only from modtui's own text."""
    value = _CONTROL.sub("\ufffd", value if keep_lines else " ".join(value.split()))
    if keep_lines:
        return value
    out, last = [], 0
    for found in _LINKABLE.finditer(value):
        out += [value[last : found.start()].translate(_MARKUP), _code(found.group(0))]
        last = found.end()
    out.append(value[last:].translate(_MARKUP))
    return "".join(out)


def _code(text: str) -> str:
    fence = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _int(value: int | None) -> str:
    return "-" if value is None else str(value)


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
