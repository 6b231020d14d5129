"""Command line: ``python -m hpnb <command> ...``.

Errors a user can fix (bad arguments, missing data) print one line on stderr and exit 2, with no
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from hpnb import prototypes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _prototypes(args: argparse.Namespace) -> int:
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
    from hpnb import train

    fields = {f.name for f in dataclasses.fields(train.Config)}
    cfg = train.Config(**{k: v for k, v in vars(args).items() if k in fields})
    run = train.train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    final, best = run.results["final"], run.results["best"]
    print(json.dumps({"out": args.out, "final_test_acc": final["test_acc"], "best_test_acc": best["test_acc"],
                      "best_epoch": best["epoch"], "wall_seconds": run.results["provenance"]["wall_seconds"]}, indent=2))
    return 0


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of :class:`hpnb.train.Config`, typed from its annotation."""
    from hpnb import train

    for f in dataclasses.fields(train.Config):
        kind = str(f.type)
        convert = _bool if "bool" in kind else int if "int" in kind else float if "float" in kind else str
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=convert, default=argparse.SUPPRESS,
                            help=f"default: {f.default!r}" + (" (from the method's preset)" if f.default is None else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m hpnb", description="Hyperspherical prototype networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("prototypes", help="place prototypes and print their separation as JSON")
    p.add_argument("--classes", type=int, required=True, help="number of prototypes c (>= 2)")
    p.add_argument("--dim", type=int, required=True, help="dimension d of the output space (>= 1)")
    p.add_argument("--method", default="best", help=f"one of: {', '.join(prototypes.METHODS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="solver iterations (method default)")
    p.add_argument("--out", default=None, help="also save the (c, d) tensor here (torch.save)")
    p.set_defaults(func=_prototypes)

    t = sub.add_parser("train", help="train one configuration; writes checkpoint.pt and results.json")
    _add_config_flags(t)
    t.add_argument("--out", required=True, help="run folder (checkpoint.pt, results.json)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    return parser


def _user_errors() -> tuple[type[Exception], ...]:
    from hpnb.data import DataError
    from hpnb.embeddings import EmbeddingError
    from hpnb.train import ConfigError

    return (DataError, ConfigError, EmbeddingError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (prototypes.PrototypeError, *_user_errors(), FileNotFoundError) as err:
        print(f"python -m hpnb {args.command}: error: {err}", file=sys.stderr)
        return 2
