"""Evasion probes: label-preserving variants of an item's content (mutations) and where they come from."""
