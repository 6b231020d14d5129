"""Shared by the benchmark scripts: thread setup, provenance and JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/x.py` puts benchmarks/, not the root, on sys.path
    sys.path.insert(0, str(ROOT))


def set_threads(threads: int | None) -> int:
    """Use ``threads`` intra-op threads (``None``: torch's default, which follows OMP_NUM_THREADS)."""
    import torch

    if threads is not None:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def _git(*args: str, strip: bool = True) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip() if strip else out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def provenance(device: str = "cpu") -> dict[str, Any]:
    """Where and with what a figure was measured (read-only git calls only)."""
    import numpy
    import scipy
    import torch
    import torchvision

    dev = torch.device(device)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    modified = [line[3:] for line in _git("status", "--porcelain", "--untracked-files=no", strip=False).splitlines()
                if line.strip()]
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_revision": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(modified),
        "git_modified": modified,  # tracked files that differ from the revision (uncommitted edits)
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_model(),
        "cpus_usable": usable_cpus(),
        "threads": torch.get_num_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        # The 1-minute load average when the run started: a shared machine's contention, roughly.
        "loadavg_at_start": list(load) if load else None,
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def write_json(obj: dict[str, Any], path: str | Path | None) -> None:
    if not path:
        return
    from hpnb.files import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(obj, indent=2) + "\n")
    print(f"wrote {path}")


def table(rows: list[dict[str, Any]], columns: dict[str, str], digits: int = 4) -> str:
    """A plain-text table (right-aligned columns) of ``rows``; ``columns`` maps key -> header."""

    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 1e6):
                return f"{v:.{digits - 1}e}"
            return f"{v:.{digits}f}"
        return str(v)

    cells = [[fmt(r.get(k)) for k in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(columns.values())]
    lines = ["  ".join(h.rjust(w) for h, w in zip(columns.values(), widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
