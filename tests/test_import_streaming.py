"""Big exports stream: import and item loading read line by line, never the whole file into memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from modtui.files.text import iter_lines, read_text
from modtui.incidents.importer import Mapping, import_items
from modtui.incidents.loader import jsonl_lines

from test_import import assert_nothing_left, do_import


def test_a_sink_gets_the_items_in_order_and_none_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    rows = [{"t": f"post {i}", "g": "toxic" if i % 3 == 0 else "ok", "p": "ok"} for i in range(10)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    got = []
    result = import_items(source, "e.jsonl", Mapping("t", "g", "p"), ["toxic", "ok"], "toxic", got.append)
    assert result.items == [] and (result.rows, result.imported) == (10, 10)
    assert [i.content for i in got] == [r["t"] for r in rows]
    assert result.kinds == {"false_negative": 4, "guard": 6}


def test_a_bad_byte_deep_in_a_csv_is_located(workspace: Path, run_cli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    body = "text,gold\n" + "".join(f"post {i},ok\n" for i in range(5000))
    source.write_bytes(body.encode() + b"caf\xe9 latte,ok\n")  # Latin-1 on line 5002
    result = do_import(run_cli, workspace, source)
    assert result.exit_code == 2
    assert f"{source}:5002:4: not valid UTF-8 (byte 0xe9)" in result.stderr
    assert_nothing_left(workspace)


def test_streamed_lines_match_the_whole_file_split(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    for data in (b"", b"a", b"a\n", b"a\r\nb\r\n", b"\xef\xbb\xbfx\ny", b"a\n\nb\n\n", b"x\xe2\x80\xa8y\nz"):
        path.write_bytes(data)
        assert list(iter_lines(path)) == jsonl_lines(read_text(path)), data


def test_importing_a_big_export_keeps_memory_flat(workspace: Path, tmp_path: Path) -> None:
    """30,000 rows of 2 KB (60 MB): peak memory grows by far less than the file (by 6× its size before streaming)."""
    source = tmp_path / "big.csv"
    filler = "x" * 2000
    with source.open("w", encoding="utf-8") as out:
        out.write("id,text,gold\n")
        for i in range(30_000):
            out.write(f"r{i},post {i} {filler},{'toxic' if i % 2 else 'ok'}\n")
    code = textwrap.dedent(f"""
        import resource, sys
        from pathlib import Path
        from modtui.incidents.importer import ItemsWriter, Mapping, import_items
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with ItemsWriter(Path({str(tmp_path / "items.jsonl")!r})) as sink:
            result = import_items(Path({str(source)!r}), "big.csv", Mapping("text", "gold", id="id"),
                                  ["toxic", "ok"], "toxic", sink.write)
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(result.imported, grew // 1024)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODTUI_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    imported, grew_mb = map(int, done.stdout.split())
    assert imported == 30_000
    assert grew_mb < 30, f"peak memory grew by {grew_mb} MB for a 60 MB export"
