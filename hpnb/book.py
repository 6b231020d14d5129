"""Build the book: execute every notebook with papermill, then render HTML with Jupyter Book 1.x.

``python -m hpnb.book`` stages a copy of the book source under ``_build/book-src`` (executed
notebooks, pages, configuration, a local plotly.js) and builds ``_build/html`` from it with warnings
as errors. The notebooks in ``book/`` stay output-free; nothing here needs the network.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def stage(src_dir: Path, only: list[str] | None = None) -> list[Path]:
    """Copy configuration and pages into ``src_dir``; return the notebooks to execute."""
    import plotly

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    if only:
        names = {Path(c["file"]).name for c in toc.get("chapters", [])}
        unknown = sorted(set(only) - names)
        if unknown:
            raise SystemExit(f"hpnb.book: unknown chapter(s) {unknown}; known: {sorted(names)}")
        toc = _only(toc, set(only))
    if src_dir.exists():
        shutil.rmtree(src_dir)
    (src_dir / "_vendor").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", src_dir / "_config.yml")
    (src_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", src_dir / "_vendor")
    notebooks = []
    for name in toc_files(toc):
        for suffix in (".md", ".ipynb"):
            path = ROOT / f"{name}{suffix}"
            if path.exists():
                (src_dir / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
                if suffix == ".md":
                    shutil.copy(path, src_dir / path.relative_to(ROOT))
                else:
                    notebooks.append(path)
                break
        else:
            raise SystemExit(f"hpnb.book: _toc.yml names {name!r} but no .md or .ipynb exists")
    for extra in (ROOT / "book").glob("*"):
        if extra.is_file() and extra.suffix not in (".md", ".ipynb"):
            shutil.copy(extra, src_dir / "book" / extra.name)  # images and data the pages use
    return notebooks


def execute(notebooks: list[Path], src_dir: Path) -> None:
    """Run each notebook with papermill on its default parameters into the staged copy."""
    import papermill

    from hpnb.plots import BOOK_BUILD_ENV

    os.environ[BOOK_BUILD_ENV] = "1"  # inherited by the kernels papermill starts
    for nb in notebooks:
        out = src_dir / nb.relative_to(ROOT)
        start = time.perf_counter()
        print(f"hpnb.book: executing {nb.relative_to(ROOT)}", flush=True)
        papermill.execute_notebook(
            str(nb), str(out), kernel_name="python3", cwd=str(nb.parent), progress_bar=True
        )
        print(f"hpnb.book: {nb.name} done in {time.perf_counter() - start:.0f} s", flush=True)


def build(out_dir: Path, only: list[str] | None = None) -> Path:
    """Stage, execute and render under ``out_dir/_build``; return the folder holding index.html."""
    src_dir = out_dir / "_build" / "book-src"
    execute(stage(src_dir, only), src_dir)
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
    args = parser.parse_args(argv)
    build(Path(args.out).resolve(), args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
