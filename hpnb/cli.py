"""Command line: ``python -m hpnb <command> ...``.

Errors a user can fix (bad arguments, missing data) print one line on stderr and exit 2, with no
traceback; anything else is a bug and keeps its traceback. Nothing heavy (torch) is imported before
a command needs it: ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from hpnb import config


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _prototypes(args: argparse.Namespace) -> int:
    from hpnb import prototypes

    start = time.perf_counter()
    P = prototypes.place(args.classes, args.dim, args.method, seed=args.seed, steps=args.steps)
    stats = prototypes.separation(P)
    stats["seconds"] = round(time.perf_counter() - start, 3)
    stats["known_optimum"] = prototypes.known_optimum(args.classes, args.dim)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        import torch

        torch.save(P, out)
    print(json.dumps(stats, indent=2))
    return 0


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _train(args: argparse.Namespace) -> int:
    fields = {f.name for f in dataclasses.fields(config.Config)}
    cfg = config.Config(**{k: v for k, v in vars(args).items() if k in fields})
    cfg.resolved()  # a bad flag is refused before torch is imported

    from hpnb import train
    run = train.train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun every rank has the same results: rank 0 reports them
    final, best = run.results["final"], run.results["best"]
    metric = "test_acc" if "test_acc" in best else "test_mae"  # a regression has no accuracy
    print(json.dumps({"out": args.out, f"final_{metric}": final[metric], f"best_{metric}": best[metric],
                      "best_epoch": best["epoch"], "wall_seconds": run.results["provenance"]["wall_seconds"]}, indent=2))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from hpnb import reproduce

    overrides = {k: v for k, v in (("device", args.device), ("precision", args.precision)) if v}
    jobs = reproduce.plan(args.table, args.profile, args.seeds, datasets=reproduce.parse_data(args.data),
                          overrides=overrides, out_root=args.out_root, results_dir=args.results_dir, only=args.only,
                          word_vectors=args.word_vectors)
    from hpnb import experiments

    table = experiments.table(args.table)
    left_out = [{"row": i, "label": r.label, "not_runnable": reproduce.not_runnable(r)}
                for i, r in enumerate(table.rows) if reproduce.not_runnable(r) and (not args.only or i in args.only)]
    if args.list:
        planned = [{"row": j.index, "label": j.row.label, "seed": j.seed, "status": j.status(),
                    "run": str(j.run_dir), "dataset": j.config.dataset} for j in jobs]
        skipped = [{"row": r["row"], "label": r["label"], "status": "not runnable", "why": r["not_runnable"]}
                   for r in left_out]
        print(json.dumps(sorted(planned + skipped, key=lambda e: (e["row"], e.get("seed", 0))), indent=2))
        return 0
    summary = reproduce.reproduce(jobs, threads=args.threads, export_results=not args.no_export,
                                  progress=not args.quiet)
    print(json.dumps({"table": args.table, "profile": args.profile, "runs": summary,
                      **({"not_runnable": left_out} if left_out else {})}, indent=2))
    return 1 if any(s["status"] in ("failed", "stale") for s in summary) else 0


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of :class:`hpnb.config.Config`, typed from its annotation."""
    for f in dataclasses.fields(config.Config):
        kind = str(f.type)
        convert = _bool if "bool" in kind else int if "int" in kind else float if "float" in kind else str
        means = config.NONE_MEANS.get(f.name, "from the method's preset")
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=convert, default=argparse.SUPPRESS,
                            help=f"default: {f.default!r}" + (f" ({means})" if f.default is None else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m hpnb", description="Hyperspherical prototype networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("prototypes", help="place prototypes and print their separation as JSON")
    p.add_argument("--classes", type=int, required=True, help="number of prototypes c (>= 2)")
    p.add_argument("--dim", type=int, required=True, help="dimension d of the output space (>= 1)")
    p.add_argument("--method", default="best", help=f"one of: {', '.join(config.PLACEMENTS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="solver iterations (method default)")
    p.add_argument("--out", default=None, help="also save the (c, d) tensor here (torch.save)")
    p.set_defaults(func=_prototypes)

    t = sub.add_parser("train", help="train one configuration; writes checkpoint.pt and results.json")
    _add_config_flags(t)
    t.add_argument("--out", required=True, help="run folder (checkpoint.pt, results.json)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present (epochs may grow "
                   "where the recipe's schedule is unchanged for the epochs already run)")
    t.add_argument("--overwrite", action="store_true", help="replace the run OUT already holds")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    r = sub.add_parser("reproduce", help="run a paper table's rows with book/08_experiment.ipynb; export results")
    r.add_argument("table", help="a key of hpnb.experiments.TABLES, e.g. hmpn-cifar10")
    r.add_argument("--profile", default="quick", help="a key of hpnb.experiments.PROFILES: quick (CPU minutes), cpu (a CPU hour per table) or paper")
    r.add_argument("--seeds", type=int, default=None,
                   help="seeds 0..N-1 per row (default: as many as the table's paper averages over)")
    r.add_argument("--data", action="append", metavar="NAME=SPEC",
                   help="where an abstract dataset comes from, e.g. cifar10=cifar10-jpeg:/abs/dir (repeatable)")
    r.add_argument("--word-vectors", default=None, metavar="FILE",
                   help="word2vec .bin or text word vectors for the rows with class-name prototypes "
                        "(privileged, embedding), instead of GloVe 6B 50-d")
    r.add_argument("--device", default=None, help="override the rows' device (auto, cpu, cuda, ...)")
    r.add_argument("--precision", default=None, choices=("auto", "fp32", "bf16"),
                   help="override the rows' precision (auto: bf16 on CUDA and on CPUs with native bfloat16)")
    r.add_argument("--threads", type=int, default=0, help="torch CPU threads in each run (0: torch's default)")
    r.add_argument("--only", type=int, nargs="+", metavar="ROW", help="run only these row indices")
    r.add_argument("--out-root", default=None, help="run folders go under OUT_ROOT/TABLE/PROFILE/ (default data/runs)")
    r.add_argument("--results-dir", default=None, help="exported results (default data/results, committed)")
    r.add_argument("--no-export", action="store_true", help="do not copy finished results to --results-dir")
    r.add_argument("--list", action="store_true", help="print the planned runs and their status; run nothing")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_reproduce)
    return parser


_USER_ERRORS = {"hpnb.config": "ConfigError", "hpnb.data": "DataError", "hpnb.embeddings": "EmbeddingError",
                "hpnb.prototypes": "PrototypeError"}


def _user_errors() -> tuple[type[Exception], ...]:
    """The error types a user can fix, from the modules already imported (an error of a module
    never imported cannot have been raised)."""
    return tuple(getattr(sys.modules[m], name) for m, name in _USER_ERRORS.items() if m in sys.modules) + (FileNotFoundError,)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:
        if not isinstance(err, _user_errors()):
            raise
        print(f"python -m hpnb {args.command}: error: {err}", file=sys.stderr)
        return 2
