"""The GPU check: one call that exercises hpnb's CUDA path and projects each paper table's cost.

On one CUDA device, in a few minutes, it

1. trains every classification preset of ``hpnb.train.PRESETS`` for one short epoch on CIFAR-10 (and
   the regression presets on rotated digits), recording loss, accuracy, time and whether every
   number stayed finite;
2. compares the bf16-autocast and fp32 losses of one batch through the same network;
3. runs benchmark (a) (``benchmarks/pipeline.py``: hpnb's on-device pipeline against a DataLoader +
   PIL pipeline) for one round and keeps its ratio;
4. times training steps of each paper-profile backbone (ResNet-32 and -56 at 32 px, ResNet-18 and -34
   at 64 px) and projects every table's full schedule from its rows' configs;

and writes one JSON with provenance. ``--device cpu --tiny`` runs the same steps on the digits in
seconds (what the test suite runs), so the script is known to work before a GPU is lent.

    python benchmarks/gpu_check.py --data /abs/dir/with/cifar10-jpeg-zips      # on the GPU machine
    python benchmarks/gpu_check.py --device cpu --tiny --out /tmp/check.json   # anywhere
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

from _common import ROOT, provenance, set_threads, write_json

# The backbone and image side of each paper profile (hpnb.experiments), timed in step 4.
PROFILE_MODELS = [("resnet32", 32), ("resnet56", 32), ("resnet18", 64), ("resnet34", 64)]
TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "tinyimagenet": 100_000, "digits": 1_437}


def _finite_history(history: list[dict[str, Any]]) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for row in history for v in row.values()
               if isinstance(v, float))


def check_presets(dataset: str, device: str, train_limit: int, test_limit: int, arch: str, dim: int) -> list[dict]:
    """One short epoch of every preset; regression presets on rotated digits."""
    from hpnb import train

    rows = []
    for method, preset in train.PRESETS.items():
        regression = preset["objective"] in train.VALUE_OBJECTIVES
        cfg = train.Config(dataset="rotated-digits" if regression else dataset, method=method,
                           arch="digits-cnn" if regression else arch, dim=max(dim, 3), epochs=1, device=device,
                           train_limit=None if regression else train_limit, test_limit=None if regression else test_limit,
                           augment="none" if regression else "crop-flip",
                           task_weight=0.5 if method == "multitask" else None)
        start = time.perf_counter()
        try:
            res = train.train(cfg, progress=False).results
            final = res["final"]
            rows.append({"method": method, "dataset": cfg.dataset, "ok": _finite_history(res["history"]),
                         "train_loss": final["train_loss"], "test_acc": final.get("test_acc"),
                         "test_mae": final.get("test_mae"), "seconds": time.perf_counter() - start})
        except Exception as err:  # a failing preset is the finding: record it and go on
            rows.append({"method": method, "dataset": cfg.dataset, "ok": False, "error": f"{type(err).__name__}: {err}",
                         "seconds": time.perf_counter() - start})
        print(f"preset {method:15s} {'ok' if rows[-1]['ok'] else 'FAILED'} ({rows[-1]['seconds']:.1f} s)", flush=True)
    return rows


def bf16_vs_fp32(device: str, arch: str, dim: int, side: int, batch: int) -> dict[str, Any]:
    """The squared-cosine loss of one batch in fp32 and under bf16 autocast (the trainer's CUDA path)."""
    import torch

    from hpnb import losses, models, prototypes

    torch.manual_seed(0)
    dev = torch.device(device)
    net = models.build(arch, dim, in_channels=3 if arch != "digits-cnn" else 1, image_size=side).to(dev).eval()
    x = torch.randn(batch, 3 if arch != "digits-cnn" else 1, side, side, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)
    P = prototypes.place(10, dim, "best", seed=0).to(dev)
    with torch.no_grad():
        fp32 = float(losses.cosine_sq(net(x).float(), P, y, reduction="mean"))
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            bf16 = float(losses.cosine_sq(net(x).float(), P, y, reduction="mean"))
    return {"fp32": fp32, "bf16": bf16, "relative_difference": abs(bf16 - fp32) / max(abs(fp32), 1e-12),
            "arch": arch, "batch": batch}


def time_backbones(device: str, steps: int, batch: int, models_: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Training steps per second of each backbone (forward, squared-cosine loss, backward, SGD)."""
    import torch

    from hpnb import losses, models, prototypes

    dev = torch.device(device)
    out = []
    for arch, side in models_:
        torch.manual_seed(0)
        net = models.build(arch, 64, in_channels=3, image_size=side).to(dev)
        if dev.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        P = prototypes.place(100, 64, "best", seed=0).to(dev)
        x = torch.randn(batch, 3, side, side, device=dev)
        y = torch.randint(0, 100, (batch,), device=dev)

        def step() -> None:
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                z = net(x)
            loss = losses.cosine_sq(z.float(), P, y, reduction="sum")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()                                   # warm-up: kernels chosen, memory allocated
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        rate = steps * batch / (time.perf_counter() - start)
        out.append({"arch": arch, "side": side, "batch": batch, "images_per_s": rate})
        print(f"{arch} at {side} px: {rate:.0f} training images/s", flush=True)
    return out


def project_tables(rates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hours each table's full schedule would take on this device, one run per row and seed."""
    from hpnb import experiments

    by_model = {(r["arch"], r["side"]): r["images_per_s"] for r in rates}
    out = []
    for key, table in experiments.TABLES.items():
        if table.kind == "placement":
            continue
        hours, unknown = 0.0, []
        for row in table.runnable_rows:
            cfg = row.config
            dataset = str(cfg.get("dataset"))
            side = cfg.get("image_size") or (64 if dataset == "tinyimagenet" else 32)
            rate = by_model.get((cfg.get("arch"), side))
            images = TRAIN_IMAGES.get(dataset)
            if rate is None or images is None:
                unknown.append(row.label)
                continue
            hours += cfg.get("epochs", 1) * images / rate / 3600 * table.seeds
        out.append({"table": key, "rows": len(table.runnable_rows), "seeds": table.seeds,
                    "projected_hours": round(hours, 2), "rows_without_a_timed_model": unknown})
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:1, ... or cpu (with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="digits and a few steps: a check of the script itself")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"),
                        help="folder with cifar10-jpeg-{train,test}.zip")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/gpu_check-<device>.json)")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("CUDA is not available here; run with --device cpu --tiny to check the script")
    if args.tiny:
        dataset, arch, dim, limit, test, steps, batch = "digits", "digits-cnn", 16, 256, 100, 2, 16
        models_ = [("resnet20", 32)]
    else:
        dataset, arch, dim, limit, test, steps, batch = f"cifar10-jpeg:{Path(args.data).resolve()}", "resnet20", 64, 10_000, 2_000, 20, 128
        models_ = PROFILE_MODELS
    started = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "gpu_check", "provenance": provenance(args.device), "tiny": args.tiny}
    result["presets"] = check_presets(dataset, args.device, limit, test, arch, dim)
    result["bf16_vs_fp32"] = bf16_vs_fp32(args.device, arch if not args.tiny else "resnet20", dim,
                                          32 if arch != "digits-cnn" else 32, batch)
    import pipeline

    pipe_args = ["--dataset", dataset, "--arch", arch, "--dim", str(dim), "--device", args.device, "--rounds", "1",
                 "--epochs", "1", "--warmup-epochs", "1", "--train-limit", str(min(limit, 2048)),
                 "--test-images", "50", "--batch-size", str(max(batch, 64))]
    if args.tiny:
        pipe_args += ["--workers", "1", "--train-limit", "128"]
    pipe = pipeline.main(pipe_args)
    result["pipeline"] = {"ratio_hpnb_over_plain": pipe.get("ratio_hpnb_over_plain"),
                          **{k: pipe[k]["images_per_s"] for k in ("hpnb", "plain", "model_only") if k in pipe}}
    result["backbones"] = time_backbones(args.device, steps, batch, models_)
    result["projected"] = project_tables(result["backbones"])
    result["seconds"] = time.perf_counter() - started
    result["ok"] = all(p["ok"] for p in result["presets"]) and result["bf16_vs_fp32"]["relative_difference"] < 0.05
    out = args.out or ROOT / "benchmarks" / "results" / f"gpu_check-{args.device.replace(':', '')}.json"
    write_json(result, out)
    print(f"gpu check {'passed' if result['ok'] else 'FAILED'} in {result['seconds']:.0f} s")
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
