"""(c) Prototype solver time and max cosine per method, on chapter 1's cases.

The cases and methods are read from the parameter cell of ``book/01_prototype_geometry.ipynb``
(``table_cases`` with ``table_methods``, ``large_cases`` with ``best`` and ``random`` only, and
``known_cases``, every isolated code of :data:`hpnb.spherical_codes.KNOWN_CODES`, with ``best`` only,
as the chapter does), so the benchmark follows the chapter. Each (c, d, method) is placed with
:func:`hpnb.prototypes.place` with the cache disabled (``cache_dir=None``) and default step counts
(:data:`hpnb.prototypes.DEFAULT_STEPS`); the time is the wall time of that call (median over
``--repeats``), the max cosine that of :func:`hpnb.prototypes.separation`, next to
:func:`hpnb.prototypes.known_optimum` where one is known. Methods that cannot place c prototypes in
d dimensions (simplex for c > d + 1, onehot for c > d) are left out of that case.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/solvers.py --out data/bench/solvers.json
    .venv/bin/python benchmarks/solvers.py --cases 10x3 100x10 --methods best riesz   # a subset
"""

from __future__ import annotations

import argparse
import ast
import json
import time

import _common
from _common import median, provenance, set_threads, table, write_json

NOTEBOOK = _common.ROOT / "book" / "01_prototype_geometry.ipynb"
# Used only if the notebook cannot be read (the chapter's values when this script was written).
FALLBACK = {
    "table_methods": ["best", "hpn", "riesz", "gaussian", "simplex", "onehot", "random"],
    "table_cases": [[4, 3], [6, 3], [12, 3], [24, 3], [10, 2], [100, 10], [100, 50], [100, 100]],
    "large_cases": [[1000, 512]],
    "known_cases": [[7, 3], [8, 3], [9, 3], [10, 3], [11, 3], [12, 3], [13, 3], [14, 3], [24, 3], [24, 4],
                    [120, 4], [16, 5], [40, 5], [27, 6], [72, 6], [56, 7], [126, 7], [240, 8]],
}
LARGE_METHODS = ["best", "random"]  # the chapter runs only these on its large cases
KNOWN_METHODS = ["best"]  # and only this one on the known codes


def chapter_parameters(path=NOTEBOOK) -> dict:
    """``table_methods``, ``table_cases``, ``large_cases`` and ``known_cases`` from the notebook's first code cell."""
    try:
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        tree = ast.parse("".join(cell["source"]))
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in FALLBACK:
                    found[name] = ast.literal_eval(node.value)
        if set(found) == set(FALLBACK):
            return {**found, "source": str(path.relative_to(_common.ROOT))}
    except (OSError, ValueError, StopIteration, KeyError, SyntaxError):
        pass
    return {**FALLBACK, "source": "fallback copy in benchmarks/solvers.py (notebook unreadable)"}


def iterative(method: str, c: int, d: int) -> bool:
    """Whether ``place`` runs a solver (``best`` is closed form for c <= 2d, for d <= 2 and for the
    constructed codes of :mod:`hpnb.spherical_codes`)."""
    from hpnb import prototypes as pr

    if method == "best":
        return c > 2 * d and d > 2 and pr.construct(c, d) is None
    return method in pr.ITERATIVE


def parse_case(text: str) -> tuple[int, int]:
    c, _, d = text.lower().partition("x")
    return int(c), int(d)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", type=parse_case, default=None, metavar="CxD",
                        help="cases as CxD (default: chapter 1's table and large cases)")
    parser.add_argument("--methods", nargs="+", default=None,
                        help="methods (default: chapter 1's table methods; best and random on its large cases)")
    parser.add_argument("--steps", type=int, default=None, help="solver steps (default: hpnb's DEFAULT_STEPS)")
    parser.add_argument("--repeats", type=int, default=1, help="repeats per (case, method); the median time is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="where the iterative solvers run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, OMP_NUM_THREADS)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    prov = provenance(args.device)

    from hpnb import prototypes as pr

    chapter = chapter_parameters()
    if args.cases is None:
        plan = [(tuple(case), args.methods or chapter["table_methods"]) for case in chapter["table_cases"]]
        plan += [(tuple(case), args.methods or LARGE_METHODS) for case in chapter["large_cases"]]
        plan += [(tuple(case), args.methods or KNOWN_METHODS) for case in chapter["known_cases"]]
    else:
        plan = [(case, args.methods or chapter["table_methods"]) for case in args.cases]
    unknown = sorted({m for _, methods in plan for m in methods} - set(pr.METHODS))
    if unknown or any(m in pr.NEEDS_EMBEDDINGS for _, ms in plan for m in ms):
        parser.error(f"methods must be among {', '.join(m for m in pr.METHODS if m not in pr.NEEDS_EMBEDDINGS)}")

    rows = []
    for (c, d), methods in plan:
        for method in methods:
            try:
                pr._check(c, d, method)  # the same test place() makes: skip impossible combinations
            except pr.PrototypeError:
                continue
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                P = pr.place(c, d, method, seed=args.seed, steps=args.steps, device=args.device, cache_dir=None)
                times.append(time.perf_counter() - start)
            sep = pr.separation(P)
            opt = pr.known_optimum(c, d)
            rows.append({
                "num_classes": c, "dim": d, "method": method,
                "steps": (args.steps or pr.DEFAULT_STEPS[method]) if iterative(method, c, d) else None,
                "seconds": median(times), "seconds_all": times,
                "max_cos": sep["max_cos"], "known_optimum": opt,
                "gap": None if opt is None else sep["max_cos"] - opt,
                "min_cos": sep["min_cos"], "nn_min_deg": sep["nn_min_deg"],
            })
            r = rows[-1]
            print(f"  c={c:>5} d={d:>4} {method:>9}: {r['seconds']:8.3f} s, max cos {r['max_cos']:+.4f}", flush=True)
    print()
    print(table(rows, {"num_classes": "c", "dim": "d", "method": "method", "steps": "steps", "seconds": "seconds",
                       "max_cos": "max cos", "known_optimum": "optimum", "gap": "gap"}))
    print(f"\ncases from {chapter['source']}; {prov['device_name']}, {prov['threads']} thread(s), device {args.device}, "
          f"torch {prov['torch']}, load average at start {prov['loadavg_at_start']}")
    result = {"benchmark": "solvers", "settings": {**vars(args), "cases": [list(p[0]) for p in plan]},
              "chapter_source": chapter["source"], "provenance": prov, "rows": rows}
    write_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
