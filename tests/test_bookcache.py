"""The book's execution cache re-runs exactly the chapters whose inputs changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpnb import book, bookcache


def _notebook(path: Path, *cells: str) -> Path:
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                    for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    pkg = tmp_path / "hpnb"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\nfrom .b import thing\n")
    (pkg / "b.py").write_text("thing = 1\n")
    (pkg / "c.py").write_text("import hpnb.b\n")
    _notebook(tmp_path / "book" / "one.ipynb", "%matplotlib inline\nfrom hpnb import a\n", "x = a.b.thing")
    _notebook(tmp_path / "book" / "two.ipynb", "import hpnb.c as c")
    _notebook(tmp_path / "book" / "three.ipynb", "from hpnb.claims import Claims\nimport numpy\n")
    return tmp_path


def test_modules_follow_the_package_imports(root: Path) -> None:
    names = lambda nb: [p.name for p in bookcache.hpnb_modules(root / "book" / nb, root)]
    assert names("one.ipynb") == ["__init__.py", "a.py", "b.py"]
    assert names("two.ipynb") == ["__init__.py", "b.py", "c.py"]
    assert names("three.ipynb") == ["__init__.py"]      # hpnb.claims absent here: nothing else to follow


def test_key_changes_exactly_with_the_inputs(root: Path) -> None:
    key = lambda nb: bookcache.chapter_key(root / "book" / nb, root)[0]
    before = {nb: key(nb) for nb in ("one.ipynb", "two.ipynb", "three.ipynb")}
    (root / "hpnb" / "a.py").write_text("from . import b\n# changed\n")
    assert key("one.ipynb") != before["one.ipynb"]
    assert key("two.ipynb") == before["two.ipynb"] and key("three.ipynb") == before["three.ipynb"]
    (root / "hpnb" / "b.py").write_text("thing = 2\n")
    assert key("two.ipynb") != before["two.ipynb"] and key("three.ipynb") == before["three.ipynb"]
    _notebook(root / "book" / "three.ipynb", "import numpy\n")
    assert key("three.ipynb") != before["three.ipynb"]


def test_key_covers_results_for_a_chapter_that_reads_them(root: Path) -> None:
    nb = _notebook(root / "book" / "results.ipynb", "records = load_records('../data/results')")
    (root / "data" / "results").mkdir(parents=True)
    (root / "data" / "results" / "r.json").write_text("{}")
    first = bookcache.chapter_key(nb, root)[0]
    (root / "data" / "results" / "r.json").write_text('{"x": 1}')
    assert bookcache.chapter_key(nb, root)[0] != first


def test_second_execution_reuses_the_cache_and_records_the_run(root: Path, monkeypatch) -> None:
    import papermill

    calls = []

    def fake_execute(src, out, **kwargs):
        calls.append(Path(src).name)
        Path(out).write_text(Path(src).read_text())

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setattr(book, "ROOT", root)
    notebooks = [root / "book" / "one.ipynb", root / "book" / "two.ipynb"]
    src, cache = root / "_build" / "src", root / "_build" / "cache"
    records = book.execute(notebooks, src, cache)
    assert calls == ["one.ipynb", "two.ipynb"] and (src / "book" / "one.ipynb").exists()
    book.execute(notebooks, src, cache)
    assert calls == ["one.ipynb", "two.ipynb"]          # nothing changed: nothing executed
    (root / "hpnb" / "c.py").write_text("import hpnb.b\nx = 1\n")
    book.execute(notebooks, src, cache)
    assert calls == ["one.ipynb", "two.ipynb", "two.ipynb"]
    page = bookcache.build_page(records)
    assert "{doc}`one`" in page and "seconds" in page and records[0]["key"] == json.loads((cache / "one.json").read_text())["key"]
    from hpnb.precision import describe

    assert records[0]["precision"] == describe("cpu") and f"| {describe('cpu')} |" in page
    old = {k: v for k, v in records[0].items() if k != "precision"}   # a record cached before the column
    assert "| not recorded |" in bookcache.build_page([old])


def test_a_failed_execution_leaves_no_cache_entry(root: Path, monkeypatch) -> None:
    import papermill

    def failing(src, out, **kwargs):
        Path(out).write_text("partial")
        raise RuntimeError("cell failed")

    monkeypatch.setattr(papermill, "execute_notebook", failing)
    monkeypatch.setattr(book, "ROOT", root)
    with pytest.raises(RuntimeError):
        book.execute([root / "book" / "one.ipynb"], root / "_build" / "src", root / "_build" / "cache")
    assert list((root / "_build" / "cache").iterdir()) == []
