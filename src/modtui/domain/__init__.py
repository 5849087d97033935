"""The pure core's vocabulary: incidents, items, prompts, targets, verdicts."""
