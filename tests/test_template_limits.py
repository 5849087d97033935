"""Issue 17, prompts that hang: a template renders under LIMITS (numbers, sizes, loop passes, wall time); a
template over one is a located exit 2 on load (corpus: tests/data/bad/prompt_*), and an item that takes an
otherwise good template over one is that item's recorded result, the replay going on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from modtui.prompts import templating
from modtui.prompts.templating import Limits, TemplateLimitError, compile_template, render_limited


def render(source: str, content: str = "abc") -> str:
    return render_limited(compile_template(source), {"content": content, "meta": {}})


@pytest.mark.parametrize(
    "source, message",
    [
        ("{{ 10 ** 5000 }}", "over 4,096 bits"),
        ("{{ 9 ** 99999999 }}", "over 4,096 bits"),
        ("{{ (2 ** 4000) * (2 ** 4000) }}", "over 4,096 bits"),
        ("{{ content * 99999999 }}", "characters or items"),
        ("{{ [1] * 99999999 }}", "characters or items"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loop passes"),
        (
            "{% set ns = namespace(s=content) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "characters",
        ),
        (
            "{% set ns = namespace(s=content) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "characters",
        ),
        ("{{ content|center(99999999) }}", "over the limit"),
        ("{{ content|indent(99999999) }}", "over the limit"),
        ('{{ "%99999999s" % content }}', "format width"),
        ('{{ "{:99999999}".format(content) }}', "characters or items"),
        ("{% for i in range(99999) %}{{ content }}{% endfor %}", "characters"),
    ],
)
def test_over_a_limit_is_refused_by_that_limit(source: str, message: str) -> None:
    """Each is refused by its own limit (the message names it), not by the wall-time deadline: refused before
    the work is done, not after computing for the whole deadline."""
    with pytest.raises(TemplateLimitError, match=message):
        render(source, "x" * 1000)


def test_wall_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work no other limit counts (a sort of a long list inside one loop: minutes of it) is stopped by the
    wall-time deadline, whose message says so. The deadline is shortened so the test does not wait 2 s."""
    monkeypatch.setattr(templating, "LIMITS", Limits(seconds=0.2))
    source = "{% for i in range(99999) %}{{ (content|list|sort)[0] }}{% endfor %}"
    with pytest.raises(TemplateLimitError, match="rendering took over 0.2 s"):
        render(source, "q" * 5000)


def test_templates_under_the_limits_render_as_before() -> None:
    assert (
        render("{% for i in range(3) %}{{ i }}{% endfor %} {{ 2 ** 64 }} {{ content * 2 }} {{ 7 // 2 }} {{ 7 % 4 }}")
        == "012 18446744073709551616 abcabc 3 3"
    )
    assert render("{{ content|center(9) }}|{{ '%5s' % content }}|{{ content ~ '!' }}") == "   abc   |  abc|abc!"
    assert render("{% macro m(x) %}[{{ x }}]{% endmacro %}{{ m(content) }}{% if content %}y{% endif %}") == "[abc]y"
    assert len(render("{{ content }}", "z" * 100_000)) == 100_000


def test_an_item_that_takes_a_template_over_a_limit_is_its_recorded_result(
    served_workspace: Path, fake_server: object
) -> None:
    """`{{ content * 20 }}` passes on load (a short sample) and for short items; a 100,000-character item
    goes over 1,000,000 characters: that item's result says so, the others get verdicts. (On a target that
    is sent the rendered prompt: the offline baseline renders nothing.)"""
    workspace = served_workspace
    from modtui.services import replay as svc
    from modtui.store import runs as q
    from modtui.workspace import Workspace

    prompt = workspace / "prompts/toxicity/candidate.yaml"
    prompt.write_text(prompt.read_text().replace("{{ content }}", "{{ content * 20 }}", 1))
    items = workspace / "incidents/INC-T1/items.jsonl"
    lines = items.read_text().splitlines()
    first = json.loads(lines[0])
    first["content"] = "you idiot " * 10_000
    items.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")
    ws = Workspace.open(workspace)
    spec = svc.ReplaySpec("INC-T1", prompts=["toxicity/candidate"], targets=["gpt-mini"], author="t")
    plan = svc.plan(ws, spec)
    rep = asyncio.run(svc.execute(ws, plan, spec))
    candidate = next(r for r in rep.runs if r.prompt_label == "toxicity/candidate")
    with ws.store().read() as session:
        rows = {r.item_id: r for r in q.results_of(session, candidate.run.id)}
    ws.close()
    assert len(rows) == len(lines)
    bad = rows[first["id"]]
    assert (bad.outcome, bad.error_type) == ("error", "bad_request")
    assert "TemplateLimitError" in (bad.detail or "") and "characters" in (bad.detail or ""), bad.detail
    assert candidate.run.status == "completed"
    assert all(r.outcome == "label" for item_id, r in rows.items() if item_id != first["id"])
