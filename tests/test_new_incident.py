"""services.new_incident: creating and importing an incident without the CLI (what the TUI calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modtui.errors import InputError, UsageError
from modtui.incidents import importer
from modtui.services import new_incident as svc
from modtui.workspace import Workspace


def test_create_with_items_then_refuse_to_overwrite(workspace: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "a", "content": "hi", "expected": "ok", "observed": "toxic"}) + "\n")
    ws = Workspace.open(workspace)
    folder = svc.create(ws, svc.NewIncident("INC-NEW", "toxicity", title="New"), items, "items.jsonl")
    loaded = ws.load_incident("INC-NEW")
    assert folder == workspace / "incidents" / "INC-NEW" and loaded.incident.title == "New"
    assert loaded.incident.labels == ["toxic", "ok"] and [i.kind.value for i in loaded.items] == ["false_positive"]
    with pytest.raises(UsageError, match="already exists"):
        svc.create(ws, svc.NewIncident("INC-NEW", "toxicity"))
    svc.create(ws, svc.NewIncident("INC-NEW", "toxicity", force=True))
    assert ws.load_incident("INC-NEW").items == []


def test_a_bad_import_leaves_nothing_behind(workspace: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("text,gold\nhello,ok\nbye,maybe\n")
    ws = Workspace.open(workspace)
    new = svc.NewIncident("INC-IMP", "toxicity")
    with pytest.raises(InputError, match="maybe"):
        svc.import_export(ws, new, export, "export.csv", importer.Mapping("text", "gold"))
    assert not (workspace / "incidents" / "INC-IMP").exists()
    assert not any(p.name.startswith(".staging") for p in (workspace / "incidents").iterdir())
    folder, result = svc.import_export(
        ws, new, export, "export.csv", importer.Mapping("text", "gold", labels={"maybe": "toxic"})
    )
    assert result.imported == 2 and [i.expected for i in ws.load_incident("INC-IMP").items] == ["ok", "toxic"]
    assert folder.name == "INC-IMP"
