"""The handoff report: its JSON Schema, Markdown rendering and redaction. Built by services.report."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA_ID = "modtui.report/1"


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema every `modtui report --format json` output validates against."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
