"""The book's execution cache: which chapters must run again, and the record of each run.

A chapter's cache key hashes everything its executed output depends on: the notebook file (its
default parameters included), the source of every ``hpnb`` module it imports (followed through the
package's own imports), the installed package versions and the Python version, and, for a chapter
that reads committed results, every file under ``data/results/``. A change to ``hpnb/losses.py``
therefore re-executes the chapters that import it, and no others.

Each execution leaves ``<stem>.ipynb`` and ``<stem>.json`` in the cache folder; the JSON (key,
seconds, hardware, versions, git revision, time) feeds the "How this book was built" page.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["chapter_key", "hpnb_modules", "cached", "store", "build_page"]

_RESULTS_HINT = re.compile(r"data/results|load_records")


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _parse(source: str) -> ast.AST | None:
    # IPython magics and shell escapes are not Python: drop those lines before parsing.
    lines = [("" if line.lstrip().startswith(("%", "!")) else line) for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _imports(tree: ast.AST, package: str, current: str | None = None) -> set[str]:
    """``package`` modules that ``tree`` imports (dotted names without the package prefix)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    found.add(alias.name[len(package) + 1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level:              # relative import inside the package
                base = (node.module or "")
            elif node.module == package or (node.module or "").startswith(package + "."):
                base = node.module[len(package) + 1:]
            else:
                continue
            if base:
                found.add(base)
            for alias in node.names:    # ``from hpnb import losses`` imports a module
                found.add(f"{base}.{alias.name}" if base else alias.name)
    return found


def hpnb_modules(notebook: Path, root: Path, package: str = "hpnb") -> list[Path]:
    """Source files of ``package`` that ``notebook`` imports, directly or through the package."""
    pkg = root / package
    code = _code_cells(notebook)
    if any("subprocess" in cell or re.search(rf"^\s*!.*-m {package}", cell, re.M) for cell in code):
        return sorted(pkg.rglob("*.py"))               # runs the package's CLI: depends on all of it
    pending: set[str] = set()
    for cell in code:
        tree = _parse(cell)
        if tree is None:                               # unparsable cell: be safe, depend on everything
            return sorted(pkg.rglob("*.py"))
        pending |= _imports(tree, package)
    seen: set[Path] = {pkg / "__init__.py"} if (pkg / "__init__.py").exists() else set()
    while pending:
        name = pending.pop()
        path = pkg / (name.replace(".", "/") + ".py") if name else pkg / "__init__.py"
        if not path.exists() or path in seen:
            continue                                   # a name imported from a module, not a module
        seen.add(path)
        tree = _parse(path.read_text())
        if tree is not None:
            pending |= _imports(tree, package)
    return sorted(seen)


def _versions() -> dict[str, str]:
    dists = {(d.metadata["Name"] or "").lower(): d.version for d in metadata.distributions()}
    return {"python": platform.python_version(), **dict(sorted(dists.items()))}


def chapter_key(notebook: Path, root: Path) -> tuple[str, dict[str, Any]]:
    """The cache key of ``notebook`` and the inputs it was computed from."""
    files = [notebook, *hpnb_modules(notebook, root)]
    if any(_RESULTS_HINT.search(cell) for cell in _code_cells(notebook)):
        results = root / "data" / "results"
        files += sorted(p for p in results.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    hashes = {}
    for path in files:
        h = hashlib.sha256(path.read_bytes()).hexdigest()
        hashes[str(path.relative_to(root))] = h
        digest.update(f"{path.relative_to(root)}\0{h}\n".encode())
    versions = _versions()
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return digest.hexdigest(), {"files": hashes, "versions": versions}


def cached(cache_dir: Path, stem: str, key: str) -> dict[str, Any] | None:
    """The record of the cached execution of ``stem`` if its key is ``key``, else None."""
    record_path, nb_path = cache_dir / f"{stem}.json", cache_dir / f"{stem}.ipynb"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("key") == key and nb_path.exists() else None


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def store(cache_dir: Path, stem: str, key: str, inputs: dict[str, Any], executed: Path,
          seconds: float, root: Path) -> dict[str, Any]:
    """Move the executed notebook into the cache and write its record; return the record."""
    from hpnb.precision import describe

    versions = inputs["versions"]
    record = {
        "chapter": stem, "key": key, "seconds": round(seconds, 1),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "hardware": f"{_cpu()}, {os.cpu_count()} logical CPUs, {platform.machine()}, {platform.system()}",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "precision": describe("cpu"),   # what the chapters' default device = "cpu" trains at here
        "git_revision": _git(root, "rev-parse", "--short", "HEAD") or "unknown",
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
        "versions": {k: versions.get(k, "-") for k in
                     ("python", "torch", "torchvision", "numpy", "scipy", "scikit-learn", "myst-nb", "jupyter-book")},
        "inputs": sorted(inputs["files"]),
    }
    from hpnb.files import write_atomic

    os.replace(executed, cache_dir / f"{stem}.ipynb")
    write_atomic(cache_dir / f"{stem}.json", json.dumps(record, indent=1))
    return record


def build_page(records: list[dict[str, Any]]) -> str:
    """The Markdown of the "How this book was built" page."""
    lines = [
        "# How this book was built", "",
        "Every chapter is a notebook executed by `make book` (`python -m hpnb.book`) with papermill on its "
        "default parameters, then rendered by Jupyter Book. An execution is cached under `_build/cache/` "
        "with a key over the notebook, the `hpnb` modules it imports, the installed package versions and, "
        "for the results chapter, the committed `data/results/`; a build re-executes only the chapters "
        "whose key changed (`python -m hpnb.book --force` re-executes all). The table is this build's "
        "record of the run that produced each page.", "",
        "| chapter | executed | seconds | hardware | precision (CPU) | threads (OMP) | git revision | Python, torch, torchvision, numpy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        v = r["versions"]
        rev = r["git_revision"] + (" (uncommitted changes)" if r["git_dirty"] else "")
        lines.append(f"| {{doc}}`{r['chapter']}` | {r['finished']} | {r['seconds']:.0f} | {r['hardware']} | "
                     f"{r.get('precision', 'not recorded')} | {r['omp_num_threads']} | `{rev}` | {v['python']}, {v['torch']}, {v['torchvision']}, {v['numpy']} |")
    lines += ["", "Inputs of each chapter's key (besides the installed versions):", ""]
    for r in records:
        lines.append(f"- {{doc}}`{r['chapter']}`: " + ", ".join(f"`{p}`" for p in r["inputs"]
                                                               if not p.startswith("data/results/"))
                     + (", every file under `data/results/`" if any(p.startswith("data/results/") for p in r["inputs"]) else ""))
    return "\n".join(lines) + "\n"
