"""The documentation's shape: a short README for newcomers, every reference page listed in docs/index.md,
links that lead somewhere, and no history ("was 873 MB") in the reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_readme_stays_a_newcomers_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, (
        f"README.md has {len(lines)} lines; keep it under 200: move reference text to "
        "docs/<topic>.md and link it from docs/index.md"
    )


def test_every_reference_page_is_listed_in_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES if p.name != "index.md" and f"]({p.name})" not in index]
    assert not missing, f"add these pages to docs/index.md: {missing}"


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_relative_links_lead_to_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = [
        target
        for target, _ in LINK.findall(text)
        if "://" not in target and not target.startswith("mailto:") and not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_history_in_the_reference(page: Path) -> None:
    said = re.findall(r"\((?:was|previously|used to be) [^)]*\)", page.read_text(encoding="utf-8"))
    assert not said, f"{page.name}: the reference says what is, not what was: {said}"
