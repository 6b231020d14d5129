"""Command line: ``python -m hpnb <command> ...``.

Errors a user can fix (bad arguments, missing data) print one line on stderr and exit 2, with no
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"python -m hpnb {args.command}: error: {err}", file=sys.stderr)
        return 2
