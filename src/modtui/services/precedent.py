"""Precedents: the most similar labelled items across the workspace's incidents.

For people (`modtui precedent`, the TUI's item detail) and for prompts: a prompt whose template uses
`{{ precedents }}` gets, for each item, the most similar labelled items of *other* incidents as
few-shot examples (never the item itself, never its own incident).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modtui.domain.incident import Item, feature_text
from modtui.errors import InputError, Problem, UsageError
from modtui.incidents.loader import LoadedIncident
from modtui.prompts.loader import LoadedPrompt
from modtui.prompts.render import clip, neutralise, template_tags
from modtui.prompts.templating import variables_used
from modtui.workspace import Workspace

if TYPE_CHECKING:  # rapidfuzz's matching loads only for a prompt that uses precedents (not on every replay's path)
    from modtui.analysis.precedent import Example, Match

EXAMPLE_CHARS = 2_000  # an example's content is cut to this for the prompt
EXAMPLE_TAG = "example"


@dataclass
class Corpus:
    """Every labelled item of the workspace's loadable incidents (their policies by incident id)."""

    examples: list[Example] = field(default_factory=list)
    policies: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def corpus(ws: Workspace) -> Corpus:
    out = Corpus()
    for incident_id in ws.incident_ids():
        try:
            loaded = ws.load_incident(incident_id)
        except InputError as exc:  # a broken incident is no precedent; `modtui validate` names its problems
            out.problems.extend(exc.problems)
            continue
        out.policies[incident_id] = loaded.incident.policy
        out.examples.extend(_examples(loaded))
    return out


def _examples(loaded: LoadedIncident) -> list[Example]:
    from modtui.analysis.precedent import Example

    return [
        Example(loaded.id, i.id, feature_text(i.content), i.expected, i.kind.value if i.kind else "eval")
        for i in loaded.items
    ]


def check_query(text: str) -> None:
    """A query typed by someone must hold something to compare: empty, blank or only punctuation and emoji, every
    item scores 0 and the 'most similar' would be the first items of the first incident."""
    from modtui.analysis.precedent import search_key

    if not search_key(feature_text(text)).strip():
        shown = " ".join(text.split())[:40]
        raise UsageError(Problem("TEXT", f"'{shown}' has no words or numbers to compare (after normalisation)"))


def similar_items(
    ws: Workspace,
    text: str,
    top: int = 5,
    exclude_incident: str | None = None,
    exclude_item: tuple[str, str] | None = None,
) -> list[Match]:
    """The `top` items most similar to `text` across the workspace, best first; `exclude_item` is
    (incident id, item id), e.g. the item a TUI screen shows."""
    from modtui.analysis.precedent import PrecedentIndex

    if top < 1:
        raise UsageError(Problem("--top", f"must be at least 1, not {top}"))
    if exclude_incident is not None:
        ws.incident_folder(exclude_incident)  # a typo is an error, not a silent no-op
    found = corpus(ws)
    excluded = (exclude_incident,) if exclude_incident else ()
    return PrecedentIndex(found.examples).search(
        feature_text(text), top, exclude_incidents=excluded, exclude_item=exclude_item
    )


# -- {{ precedents }} in prompts -----------------------------------------------------------------------


def uses_precedents(prompt: LoadedPrompt) -> bool:
    template = prompt.template
    return "precedents" in variables_used(template.system + "\n" + template.user)


PrecedentContext = Callable[[Item], Mapping[str, str]]


def prompt_context(
    ws: Workspace, prompt: LoadedPrompt, policy: str, own_incident: Callable[[Item], str]
) -> PrecedentContext | None:
    """For a prompt that uses `{{ precedents }}`: item → {"precedents": few-shot text}, memoised per item.
    None for a prompt that does not use it (so nothing is computed)."""
    if not uses_precedents(prompt):
        return None
    from modtui.analysis.precedent import PrecedentIndex

    settings = prompt.template.precedents
    found = corpus(ws)
    pool = [e for e in found.examples if settings.scope == "workspace" or found.policies.get(e.incident_id) == policy]
    index = PrecedentIndex(pool)
    labels = tuple(prompt.template.labels)
    tags = template_tags(prompt.template.system + "\n" + prompt.template.user)
    memo: dict[str, dict[str, str]] = {}

    def context(item: Item) -> Mapping[str, str]:
        if item.id not in memo:
            matches = index.search(
                feature_text(item.content),
                settings.top,
                exclude_incidents=(own_incident(item),),
                labels=labels,
                min_score=settings.min_score,
            )
            memo[item.id] = {"precedents": render_examples(matches, tags)}
        return memo[item.id]

    return context


def render_examples(matches: list[Match], tags: tuple[str, ...] = ()) -> str:
    """Few-shot examples: each one's gold label, then its content inside <example> tags. Content is
    untrusted: the template's own delimiter tags and <example> itself are made inert inside it."""
    inert_tags = tuple(sorted({*tags, EXAMPLE_TAG}))
    blocks = []
    for n, match in enumerate(matches, start=1):
        content, _ = clip(match.example.content, EXAMPLE_CHARS)
        blocks.append(
            f"Example {n} (gold label: {match.example.label})\n"
            f"<{EXAMPLE_TAG}>\n{neutralise(content, inert_tags)}\n</{EXAMPLE_TAG}>"
        )
    return "\n\n".join(blocks) if blocks else "(no similar labelled examples)"
