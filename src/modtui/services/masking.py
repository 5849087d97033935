"""Which items of an incident are masked for reviewer wellbeing (the rule itself is domain.masking)."""

from __future__ import annotations

from collections.abc import Sequence

from modtui.config import WorkspaceSettings
from modtui.domain.incident import Incident, Item
from modtui.domain.masking import MaskRule, mask_reason


def rule_of(settings: WorkspaceSettings) -> MaskRule:
    return MaskRule.of(settings.mask_severity_at_or_above, settings.mask_meta_tags)


def masked_items(settings: WorkspaceSettings, incident: Incident, items: Sequence[Item]) -> dict[str, str]:
    """Item id → why its content is masked, for the items that are."""
    rule = rule_of(settings)
    incident_wide = mask_reason(rule, incident.severity.value, {})  # the severity masks every item, or none
    if incident_wide:
        return dict.fromkeys((item.id for item in items), incident_wide)
    if not rule.meta_tags:  # nothing else can mask an item: no per-item look (a 50,000-item first paint)
        return {}
    reasons = {item.id: mask_reason(rule, incident.severity.value, item.meta) for item in items}
    return {item_id: reason for item_id, reason in reasons.items() if reason}
