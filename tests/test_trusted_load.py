"""An incident folder the log recorded as loaded with every check passed is read again without validating each item
(incidents.loader.load_trusted): it must load exactly as load_incident does, and any change goes through the checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modtui.errors import InputError
from modtui.incidents import loader
from modtui.services import incidents as svc
from modtui.store import incidents as q
from modtui.workspace import Workspace

INC = "INC-T1"


def _same(a: loader.LoadedIncident, b: loader.LoadedIncident) -> None:
    assert a.incident == b.incident and a.item_lines == b.item_lines and a.folder == b.folder
    assert a.items == b.items
    for x, y in zip(a.items, b.items, strict=True):
        assert x.model_dump_json() == y.model_dump_json() and x.model_fields_set == y.model_fields_set
        assert type(x.kind) is type(y.kind) and x.meta is not y.meta
        # built field by field as pydantic builds them: every field, in order, and nothing else
        assert list(vars(x)) == list(vars(y)) == list(type(y).model_fields)
        assert (x.__pydantic_extra__, x.__pydantic_private__) == (y.__pydantic_extra__, y.__pydantic_private__)


def _tricky(folder: Path) -> None:
    """Int ids, kinds given and derived, meta absent or not, annotations, CRLF, blank lines, U+2028, a BOM."""
    lines = [
        json.dumps({"id": 7, "content": "a\u2028b", "expected": "toxic", "observed": "ok"}, ensure_ascii=False),
        "",
        "  ",
        json.dumps({"id": "x-2", "content": "é", "expected": "ok", "kind": "eval", "meta": {"k": [1]}}),
        json.dumps(
            {
                "id": "x-3",
                "content": "c",
                "expected": "ok",
                "observed": "ok",
                "kind": "guard",
                "annotations": [{"annotator": "r1", "label": "ok"}, {"annotator": "r2", "label": "toxic"}],
            }
        )
        + "\r",
    ]
    (folder / loader.ITEMS_FILE).write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode())


@pytest.mark.parametrize("tricky", [False, True])
def test_trusted_load_equals_the_checked_one(workspace: Path, tricky: bool) -> None:
    folder = workspace / "incidents" / INC
    if tricky:
        _tricky(folder)
    checked = loader.load_incident(folder, workspace)
    files = loader.read_files(folder)
    assert files is not None
    _same(loader.load_trusted(files, workspace), checked)


def test_load_and_sync_records_the_fingerprint_and_trusts_only_unchanged_files(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.open(workspace)
    folder = workspace / "incidents" / INC
    first = svc.load_and_sync(ws, INC)  # checked, then recorded
    files = loader.read_files(folder)
    assert files is not None and q.files_hash(ws.store(), INC) == files.fingerprint
    trusted: list[object] = []
    real = loader.load_trusted
    monkeypatch.setattr(svc, "load_trusted", lambda *a: trusted.append(a) or real(*a))
    _same(svc.load_and_sync(ws, INC), first)
    assert len(trusted) == 1
    # a changed file is checked again: an unknown label is refused though the old fingerprint is in the log
    items = (folder / loader.ITEMS_FILE).read_text().replace('"expected": "ok"', '"expected": "okay"', 1)
    (folder / loader.ITEMS_FILE).write_text(items)
    with pytest.raises(InputError, match="okay"):
        svc.load_and_sync(ws, INC)
    assert len(trusted) == 1
    # a valid change is checked, synced and recorded; the next load trusts it
    _tricky(folder)
    changed = svc.load_and_sync(ws, INC)
    assert len(trusted) == 1 and [i.id for i in changed.items] == ["7", "x-2", "x-3"]
    _same(svc.load_and_sync(ws, INC), changed)
    assert len(trusted) == 2
    ws.close()


def test_a_sync_of_other_items_forgets_the_fingerprint(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    loaded = svc.load_and_sync(ws, INC)
    assert q.files_hash(ws.store(), INC) is not None
    loaded.items.pop()
    q.sync_incident(ws.store(), loaded)  # e.g. a golden set's or another writer's items: no fingerprint
    assert q.files_hash(ws.store(), INC) is None
    ws.close()


def test_the_fingerprint_is_of_the_files_and_the_schema_version(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workspace / "incidents" / INC
    copy = tmp_path / INC
    copy.mkdir()
    for name in (loader.INCIDENT_FILE, loader.ITEMS_FILE):
        (copy / name).write_bytes((folder / name).read_bytes())
    first, same = loader.read_files(folder), loader.read_files(copy)
    assert first is not None and same is not None and first.fingerprint == same.fingerprint  # the data, not the place
    (copy / loader.ITEMS_FILE).write_bytes((folder / loader.ITEMS_FILE).read_bytes() + b"\n")
    changed = loader.read_files(copy)
    assert changed is not None and changed.fingerprint != first.fingerprint  # any byte
    monkeypatch.setattr(loader, "SCHEMA_VERSION", loader.SCHEMA_VERSION + "+1")
    newer = loader.read_files(folder)
    assert newer is not None and newer.fingerprint != first.fingerprint  # files passed under another schema: checked


def test_what_the_one_call_parse_refuses_is_loaded_in_full(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """load_trusted reads the whole file in one call into pydantic-core; a line only Python's decoder reads (none
    known: a lone surrogate stands in, which both refuse) makes it give up, and load_and_sync checks the files."""
    folder = workspace / "incidents" / INC
    files = loader.read_files(folder)
    assert files is not None
    odd = loader.IncidentFiles(folder, files.head, b'{"id": "a", "content": "\\ud800", "expected": "ok"}\n', "x")
    assert loader.load_trusted(odd, workspace) is None
    ws = Workspace.open(workspace)
    first = svc.load_and_sync(ws, INC)
    checked: list[object] = []
    load = Workspace.load_incident
    monkeypatch.setattr(svc, "load_trusted", lambda *a: None)
    monkeypatch.setattr(Workspace, "load_incident", lambda self, i: checked.append(i) or load(self, i))
    _same(svc.load_and_sync(ws, INC), first)
    assert checked == [INC]
    ws.close()
