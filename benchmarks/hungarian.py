"""(b) Hungarian assignment time against the number of classes.

Times :meth:`hpnb.assignment.DynamicAssignment.solve` (DL2PA's once-per-epoch re-assignment: cost
matrix from the normalised class means and prototypes in float64, the tie bonus, the exact solver
and the bookkeeping) and, on the same cost matrix
(:meth:`~hpnb.assignment.DynamicAssignment.cost`), each exact solver alone: scipy's
``linear_sum_assignment`` and, where ``lapjv`` is installed, LAPJV (``solve()`` uses LAPJV then);
``overhead`` is what ``solve()`` adds to the solver it calls, for C classes = C prototypes in d = min(C - 1, 512)
dimensions (``--dim`` changes the cap).

Two kinds of input (``--scenarios``):

- ``random``: class means and prototypes independent, normalised Gaussian draws: nearly every class
  moves, the hardest case for the solver;
- ``near``: each class mean is its current prototype plus Gaussian noise (norm about 0.3): the
  situation late in training, where the assignment barely changes.

Each figure is the median over repeats (5 for C <= 1000, 3 for C <= 3000, 1 above, unless
``--repeats``); a fresh ``DynamicAssignment`` (identity assignment) is used for every repeat and
its means are filled through ``update`` outside the timer.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hungarian.py --out data/bench/hungarian.json
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the repository root on sys.path)
from _common import median, provenance, set_threads, table, write_json

DEFAULT_CLASSES = (100, 300, 1000, 3000, 10000)


def default_repeats(c: int) -> int:
    return 5 if c <= 1000 else 3 if c <= 3000 else 1


def one_case(c: int, d: int, scenario: str, repeats: int, seed: int, device: str) -> dict:
    import torch
    import torch.nn.functional as F
    from scipy.optimize import linear_sum_assignment

    from hpnb import assignment
    from hpnb.assignment import DynamicAssignment

    gen = torch.Generator().manual_seed(seed)
    W = F.normalize(torch.randn(c, d, generator=gen), dim=1)
    if scenario == "random":
        z = torch.randn(c, d, generator=gen)
    elif scenario == "near":
        z = W + 0.3 * torch.randn(c, d, generator=gen) / d ** 0.5
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    W, z, y = W.to(device), z.to(device), torch.arange(c, device=device)

    solve_s, lsa_s, lapjv_s, changed = [], [], [], []
    for _ in range(repeats):
        dyn = DynamicAssignment(c, c)
        dyn.update(z, y)  # the first batch of a class sets its mean: means = z / |z|
        cost = dyn.cost(W)  # the very matrix solve() builds (tie bonus included), for the raw solver
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        changed.append(dyn.solve(W))
        solve_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        linear_sum_assignment(cost)
        lsa_s.append(time.perf_counter() - start)
        if assignment._lapjv is not None:
            start = time.perf_counter()
            assignment.assign(cost, solver="lapjv")
            lapjv_s.append(time.perf_counter() - start)
        del cost
    return {
        "classes": c, "dim": d, "scenario": scenario, "repeats": repeats,
        "solver": assignment.SOLVER,
        "solve_s": median(solve_s), "lsa_s": median(lsa_s), "lapjv_s": median(lapjv_s) if lapjv_s else None,
        "solve_s_all": solve_s, "lsa_s_all": lsa_s, "lapjv_s_all": lapjv_s,
        "changed_fraction": median(changed),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=list(DEFAULT_CLASSES), help="values of C")
    parser.add_argument("--dim", type=int, default=512, help="cap on d (d = min(C - 1, cap))")
    parser.add_argument("--scenarios", nargs="+", default=["random", "near"], choices=["random", "near"])
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per case (default 5 for C <= 1000, 3 for C <= 3000, else 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="where the class means and prototypes live")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, OMP_NUM_THREADS)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    prov = provenance(args.device)

    rows = []
    for scenario in args.scenarios:
        for c in args.classes:
            d = max(1, min(c - 1, args.dim))
            reps = args.repeats if args.repeats is not None else default_repeats(c)
            rows.append(one_case(c, d, scenario, reps, args.seed, args.device))
            r = rows[-1]
            lap = "not installed" if r["lapjv_s"] is None else f"{r['lapjv_s']:.4f} s"
            print(f"  {scenario:>6} C={c:>6} d={d:>4}: solve {r['solve_s']:.4f} s, "
                  f"scipy {r['lsa_s']:.4f} s, lapjv {lap} ({reps} repeat(s))", flush=True)
    for r in rows:
        r["solve_ms"], r["lsa_ms"] = 1e3 * r["solve_s"], 1e3 * r["lsa_s"]
        r["lapjv_ms"] = None if r["lapjv_s"] is None else 1e3 * r["lapjv_s"]
        used = r["lapjv_s"] if r["solver"] == "lapjv" else r["lsa_s"]
        r["overhead"] = r["solve_s"] / used - 1.0  # what solve() adds to the solver it calls
    print()
    print(table(rows, {"scenario": "scenario", "classes": "C", "dim": "d", "repeats": "repeats",
                       "solve_ms": "solve() ms", "lsa_ms": "scipy ms", "lapjv_ms": "lapjv ms", "solver": "solve() uses",
                       "overhead": "solve() overhead", "changed_fraction": "changed"}, digits=2))
    print(f"\n{prov['device_name']}, {prov['threads']} thread(s), torch {prov['torch']}, scipy {prov['scipy']}, "
          f"load average at start {prov['loadavg_at_start']}")
    result = {"benchmark": "hungarian", "settings": vars(args), "provenance": prov, "rows": rows}
    write_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
