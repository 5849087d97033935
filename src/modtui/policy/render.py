"""Render a policy as plain text for an LLM prompt (the ``{{ policy }}`` template variable)."""

from __future__ import annotations

from typing import Sequence

from modtui.policy.model import Policy

__all__ = ["render_policy"]

_MAX_TERMS = 12


def _terms(terms: Sequence[str]) -> str:
    shown = ", ".join(f'"{t}"' for t in terms[:_MAX_TERMS])
    if len(terms) > _MAX_TERMS:
        shown += f", and {len(terms) - _MAX_TERMS} more"
    return shown


def render_policy(
    policy: Policy,
    labels: Sequence[str] | None = None,
    *,
    positive_label: str | None = None,
    include_patterns: bool = False,
) -> str:
    """A readable block: each rule with its label, description and example terms, then the
    exceptions and the default.  With ``labels`` the positive/default labels are named
    concretely (``positive_label`` is the prompt's own setting, as for ``classify``); regex
    patterns are left out unless ``include_patterns`` (an LLM does better with the description
    and examples than with the regex)."""
    positive = policy.positive_label or positive_label or (labels[0] if labels else None)
    default: str | None
    if policy.default_label is not None:
        default = policy.default_label
    elif labels:
        default = next((lab for lab in labels if lab != positive), positive)
    else:
        default = None
    pos_txt = positive or "the positive label"
    default_txt = default or "the negative label"

    lines: list[str] = []
    if policy.rules:
        lines.append("RULES (content that matches a rule gets the rule's label unless an exception applies):")
        for i, rule in enumerate(policy.rules, 1):
            label = rule.label or pos_txt
            head = f"{i}. {rule.name} -> {label}"
            if rule.weight != 1.0:
                head += f" (weight {rule.weight:g})"
            lines.append(head)
            if rule.description.strip():
                lines.extend(f"   {ln}" for ln in rule.description.strip().splitlines())
            if rule.terms:
                lines.append(f"   Signals include: {_terms(rule.terms)}")
            if include_patterns and rule.patterns:
                lines.append("   Patterns: " + "; ".join(f"/{p}/" for p in rule.patterns))
    else:
        lines.append("RULES: none.")

    if policy.exceptions:
        lines.append("")
        lines.append("EXCEPTIONS (when one applies, the rules it names do not count):")
        for exc in policy.exceptions:
            scope = ", ".join(exc.clears) if exc.clears else "all rules"
            lines.append(f"- {exc.name} (overrides: {scope})")
            if exc.description.strip():
                lines.extend(f"  {ln}" for ln in exc.description.strip().splitlines())
            if exc.terms:
                lines.append(f"  Signals include: {_terms(exc.terms)}")
            if include_patterns and exc.patterns:
                lines.append("  Patterns: " + "; ".join(f"/{p}/" for p in exc.patterns))

    lines.append("")
    lines.append(
        f"DEFAULT: when no rule applies, or every rule that applies is overridden, the label is {default_txt}."
    )
    if labels is not None and len(labels) > 2:
        lines.append("When rules for different labels apply, the stronger (higher weight) wins.")
    return "\n".join(lines)
