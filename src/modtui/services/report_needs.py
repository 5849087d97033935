"""Next steps for the handoff report, read off the report's own data (so they never disagree with it)."""

from __future__ import annotations

from typing import Any

from modtui.domain.incident import Status

SIGNIFICANT_P = 0.05


def next_steps(data: dict[str, Any], best_on_subset: bool) -> list[str]:
    """Concrete next actions, most urgent first."""
    inc, actions, needs = data["incident"], data["actions"], data["needs"]
    incident_id, best = inc["id"], actions["best_candidate"]
    steps: list[str] = []
    if not actions["runs"]:
        steps.append(f"Replay the incident to see where production stands: `modtui replay {incident_id}`.")
    if best is None:
        steps.append(
            f"Write a candidate prompt under prompts/{inc['policy']}/ and replay it beside production: "
            f"`modtui replay {incident_id} -p {inc['policy']}/<candidate>`."
        )
    else:
        steps.extend(_candidate_steps(incident_id, best, needs, best_on_subset))
    if needs["open_findings"]:
        ids = ", ".join(f"#{f['id']}" for f in needs["open_findings"])
        steps.append(f"Resolve or supersede the open findings ({ids}): `modtui finding resolve ID --resolution …`.")
    if not data["findings"]:
        steps.append(f"Record the root cause: `modtui finding add {incident_id} --category … --summary …`.")
    if inc["status"] in (Status.OPEN, Status.INVESTIGATING) and best and not best["regressed"] and best["fixed"]:
        steps.append(f"Once the candidate ships, set the status: `modtui incident status {incident_id} mitigated`.")
    return steps


def _candidate_steps(incident_id: str, best: dict[str, Any], needs: dict[str, Any], best_on_subset: bool) -> list[str]:
    steps = []
    if needs["regressions"]["count"]:
        steps.append(
            f"Review the {needs['regressions']['count']} item(s) the best candidate (run {best['run_id']}) "
            f"regressed before it ships."
        )
    if needs["still_failing"]["count"]:
        steps.append(
            f"Triage the {needs['still_failing']['count']} item(s) still failing under run {best['run_id']}: "
            f"a prompt gap, or a label to dispute (`finding add … --category label_error --correct ITEM=LABEL`)."
        )
    if best_on_subset:
        steps.append(
            f"The best candidate ran on {best['item_set']} items only: replay it on all items "
            f"(`modtui replay {incident_id} -p {best['prompt']} --items all`) to check the guard set."
        )
    p = best.get("mcnemar_p")
    if p is not None and p >= SIGNIFICANT_P and best.get("fixed"):
        steps.append(f"The improvement is not significant yet (McNemar p={p:.3g}): add more failing items.")
    return steps
