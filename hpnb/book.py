"""Build the book: execute every notebook with papermill, then render HTML with Jupyter Book 1.x.

``python -m hpnb.book`` stages a copy of the book source under ``_build/book-src`` (executed
notebooks, pages, configuration, a local plotly.js) and builds ``_build/html`` from it with warnings
as errors. Executed notebooks are cached in ``_build/cache`` (see :mod:`hpnb.bookcache`): a second
build with nothing changed executes nothing. The notebooks in ``book/`` stay output-free; nothing
here needs the network.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc: dict) -> list[str]:
    """Every document named in a jb-book ``_toc.yml`` (root first), without suffix."""
    files = [toc["root"]]
    pending = list(toc.get("chapters", [])) + [c for p in toc.get("parts", []) for c in p["chapters"]]
    while pending:
        entry = pending.pop(0)
        files.append(entry["file"])
        pending[:0] = entry.get("sections", [])
    return files


def _only(toc: dict, keep: set[str]) -> dict:
    """A copy of ``toc`` that keeps the root and the chapters named in ``keep`` (by file stem)."""
    chapters = [c for c in toc.get("chapters", []) if Path(c["file"]).name in keep]
    return {**{k: v for k, v in toc.items() if k not in ("chapters", "parts")}, "chapters": chapters}


BUILD_PAGE = "book/how_built"   # generated at staging from the execution records: no source file


def stage(src_dir: Path, only: list[str] | None = None) -> list[Path]:
    """Copy configuration and pages into ``src_dir``; return the notebooks to execute.

    Files are written only when their content changed, so that Sphinx's incremental build re-renders
    only the pages that did.
    """
    import plotly

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    if only:
        names = {Path(c["file"]).name for c in toc.get("chapters", [])}
        unknown = sorted(set(only) - names)
        if unknown:
            raise SystemExit(f"hpnb.book: unknown chapter(s) {unknown}; known: {sorted(names)}")
        toc = _only(toc, set(only) | {Path(BUILD_PAGE).name})
    (src_dir / "_vendor").mkdir(parents=True, exist_ok=True)
    _write_if_changed(src_dir / "_config.yml", _config(partial=bool(only)))
    _write_if_changed(src_dir / "_toc.yml", yaml.safe_dump(toc, sort_keys=False).encode())
    _write_if_changed(src_dir / "_vendor" / "plotly.min.js",
                      (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes())
    notebooks = []
    for name in toc_files(toc):
        if name == BUILD_PAGE:
            continue
        for suffix in (".md", ".ipynb"):
            path = ROOT / f"{name}{suffix}"
            if path.exists():
                if suffix == ".md":
                    _write_if_changed(src_dir / path.relative_to(ROOT), path.read_bytes())
                else:
                    notebooks.append(path)
                break
        else:
            raise SystemExit(f"hpnb.book: _toc.yml names {name!r} but no .md or .ipynb exists")
    for extra in (ROOT / "book").glob("*"):
        if extra.is_file() and extra.suffix not in (".md", ".ipynb"):
            _write_if_changed(src_dir / "book" / extra.name, extra.read_bytes())  # images and data the pages use
    return notebooks


def _config(partial: bool) -> bytes:
    """The book's ``_config.yml``; a partial build also lets links to the chapters it leaves out dangle.

    Chapters link to each other with ``{doc}``; in a build of a few chapters those targets do not exist,
    and ``-W`` would turn each link into an error. The full build (``make book``) still checks them all.
    """
    text = (ROOT / "_config.yml").read_bytes()
    if not partial:
        return text
    config = yaml.safe_load(text)
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["suppress_warnings"] = [*sphinx.get("suppress_warnings", []), "ref.doc"]
    return yaml.safe_dump(config, sort_keys=False).encode()


def _write_if_changed(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    from hpnb.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, content)


def execute(notebooks: list[Path], src_dir: Path, cache_dir: Path, force: bool = False) -> list[dict]:
    """Run each notebook with papermill on its default parameters into the staged copy.

    A notebook whose cache key (:func:`hpnb.bookcache.chapter_key`: the notebook, the ``hpnb``
    modules it imports, the installed versions, the committed results it reads) matches its last
    execution is not run again; its executed copy is reused. Returns one record per notebook.
    """
    import papermill

    from hpnb import bookcache
    from hpnb.plots import BOOK_BUILD_ENV

    os.environ[BOOK_BUILD_ENV] = "1"  # inherited by the kernels papermill starts
    records = []
    for nb in notebooks:
        out = src_dir / nb.relative_to(ROOT)
        key, inputs = bookcache.chapter_key(nb, ROOT)
        record = None if force else bookcache.cached(cache_dir, nb.stem, key)
        if record is None:
            print(f"hpnb.book: executing {nb.relative_to(ROOT)}", flush=True)
            tmp = cache_dir / f".{nb.stem}.{os.getpid()}.ipynb"
            cache_dir.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(nb), str(tmp), kernel_name="python3", cwd=str(nb.parent), progress_bar=True
                )
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            record = bookcache.store(cache_dir, nb.stem, key, inputs, tmp, time.perf_counter() - start, ROOT)
            print(f"hpnb.book: {nb.name} done in {record['seconds']:.0f} s", flush=True)
        else:
            print(f"hpnb.book: {nb.name} unchanged (key {key[:12]}), executed {record['finished']}", flush=True)
        _write_if_changed(out, (cache_dir / f"{nb.stem}.ipynb").read_bytes())
        records.append(record)
    return records


def build(out_dir: Path, only: list[str] | None = None, force: bool = False) -> Path:
    """Stage, execute (or reuse) and render under ``out_dir/_build``; return the folder holding index.html."""
    from hpnb import bookcache

    src_dir = out_dir / "_build" / "book-src"
    records = execute(stage(src_dir, only), src_dir, out_dir / "_build" / "cache", force)
    _write_if_changed(src_dir / f"{BUILD_PAGE}.md", bookcache.build_page(records).encode())
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(src_dir),
        "--path-output", str(out_dir), "-W", "-n", "--keep-going",
    ]
    print("hpnb.book:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    html = out_dir / "_build" / "html"
    print(f"hpnb.book: open {html / 'index.html'}")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpnb.book", description=__doc__)
    parser.add_argument("--only", nargs="*", help="chapter file stems to build (default: all)")
    parser.add_argument("--out", default=str(ROOT), help="folder that receives _build/ (default: repo)")
    parser.add_argument("--force", action="store_true", help="re-execute every notebook, cached or not")
    args = parser.parse_args(argv)
    build(Path(args.out).resolve(), args.only, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
