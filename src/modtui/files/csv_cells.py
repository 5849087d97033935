"""CSV cells a spreadsheet cannot run: the one rule for every CSV modtui writes (OWASP's CSV injection advice)."""

from __future__ import annotations

# = + - @ start a formula, a leading tab or CR can hide one; the full-width forms are read as formulas too
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def inert_cell(text: str) -> str:
    """`text` with a `'` first when a spreadsheet would read it as a formula (`=HYPERLINK(…)`, `+cmd|…`)."""
    return "'" + text if text.startswith(FORMULA_LEADS) else text
