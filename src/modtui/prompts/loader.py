"""Load prompts/<policy>/<name>.yaml with strict validation of fields and template variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateSyntaxError

from modtui.domain.prompt import TEMPLATE_VARIABLES, PromptTemplate
from modtui.domain.prompt_name import prompt_name
from modtui.errors import InputError, Problem
from modtui.files.validate import suggest, validate_model
from modtui.files.yaml import Located, load_yaml, parse_yaml
from modtui.prompts.templating import variables_used
from modtui.prompts.version import prompt_version


@dataclass(frozen=True)
class LoadedPrompt:
    template: PromptTemplate
    path: str  # workspace-relative, as shown to users
    version: str

    @property
    def label(self) -> str:
        """How the prompt is named in every output: `policy/name` from its path."""
        return prompt_name(self.path)


def load_prompt(path: Path, shown: str | None = None) -> LoadedPrompt:
    shown = shown or str(path)
    return prompt_from_doc(load_yaml(path, shown))


def parse_prompt(text: str, shown: str) -> LoadedPrompt:
    """Validate prompt YAML held in memory (e.g. the TUI's candidate editor)."""
    return prompt_from_doc(parse_yaml(text, shown))


def prompt_from_doc(doc: Located) -> LoadedPrompt:
    template, problems = validate_model(PromptTemplate, doc)
    if template is not None:
        problems += template_problems(template, doc)
    if problems or template is None:
        raise InputError(problems)
    return LoadedPrompt(template, doc.path, prompt_version(template))


def template_problems(template: PromptTemplate, doc: Located) -> list[Problem]:
    problems: list[Problem] = []
    for field_name in ("system", "user"):
        source = getattr(template, field_name)
        try:
            used = variables_used(source)
        except TemplateSyntaxError as exc:
            problems.append(_at_template_line(doc, field_name, exc.lineno, f"template syntax error: {exc.message}"))
            continue
        for name in sorted(used - TEMPLATE_VARIABLES):
            line = _line_of(source, name)
            hint = suggest(name, TEMPLATE_VARIABLES)
            problems.append(
                _at_template_line(
                    doc,
                    field_name,
                    line,
                    f"undefined template variable '{name}'{hint}; available: {', '.join(sorted(TEMPLATE_VARIABLES))}",
                )
            )
    if template.policy is not None:
        problems += _policy_label_problems(template, doc)
    if "content" not in _safe_vars(template.user) and "content" not in _safe_vars(template.system):
        problems.append(doc.problem(("user",), "the user template must include {{ content }}"))
    if "policy" in _safe_vars(template.system + template.user) and template.policy is None:
        problems.append(doc.problem(("user",), "the template uses {{ policy }} but the prompt has no policy: block"))
    if not problems:
        problems += _trial_render(template, doc)
    return problems


def _trial_render(template: PromptTemplate, doc: Located) -> list[Problem]:
    """Render a sample item, so a template that fails at run time (e.g. `{{ content.__class__ }}`, refused by
    the sandbox, or `{{ labels[9] }}`) is reported here with its file, not in the middle of a replay."""
    from modtui.prompts.render import render  # (imports the policy renderer: only needed here)

    try:
        render(template, "sample content", item_id="sample-id", meta={})
    except Exception as exc:  # noqa: BLE001 - any failure is the template's problem, reported with its place
        field_name = "system" if template.system and _fails(template.system) else "user"
        line = _template_traceback_line(exc)
        return [_at_template_line(doc, field_name, line, f"template cannot be rendered: {type(exc).__name__}: {exc}")]
    return []


def _fails(source: str) -> bool:
    from modtui.prompts.templating import compile_template, render_limited

    try:
        render_limited(
            compile_template(source),
            {"content": "x", "item_id": "x", "meta": {}, "labels": "a, b", "policy": "", "precedents": ""},
        )
    except Exception:  # noqa: BLE001
        return True
    return False


def _template_traceback_line(exc: BaseException) -> int | None:
    """The line inside the template where rendering failed (Jinja rewrites tracebacks to '<template>')."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _policy_label_problems(template: PromptTemplate, doc: Located) -> list[Problem]:
    """Labels the policy block names must be the prompt's labels (else classify fails at replay time)."""
    policy, labels = template.policy, template.labels
    assert policy is not None
    named: list[tuple[str, tuple[str | int, ...], str | None]] = [
        ("policy.positive_label", ("policy", "positive_label"), policy.positive_label),
        ("policy.default_label", ("policy", "default_label"), policy.default_label),
    ]
    named += [
        (f"policy.rules[{i}].label", ("policy", "rules", i, "label"), rule.label) for i, rule in enumerate(policy.rules)
    ]
    return [
        doc.problem(loc, f"{shown}: '{value}' is not one of labels {labels}{suggest(value, labels)}")
        for shown, loc, value in named
        if value is not None and value not in labels
    ]


def _safe_vars(source: str) -> set[str]:
    try:
        return variables_used(source)
    except TemplateSyntaxError:
        return {"content", "policy"}


def _line_of(source: str, name: str) -> int:
    """The template line that uses variable `name`: inside {{ }} / {% %} first, then anywhere as a word."""
    word = r"(?<![\w.])" + re.escape(name) + r"\b"
    for pattern in (r"\{[{%][^}]*?" + word, word):
        for number, line in enumerate(source.split("\n"), start=1):
            if re.search(pattern, line):
                return number
    return 1


def _at_template_line(doc: Located, field_name: str, template_line: int | None, message: str) -> Problem:
    base = doc.where((field_name,))
    if base is None:
        return Problem(doc.path, message)
    offset = 1 if (field_name,) in doc.block_scalars else 0
    return Problem(doc.path, f"{field_name}: {message}", base[0] + offset + (template_line or 1) - 1)
