"""(a) Training throughput: hpnb's pipeline against a plain DataLoader + PIL-transform pipeline.

Both pipelines train the same model (``hpnb.train.Net``: ``--arch``, ``--dim``), with the same fixed
prototypes, objective, optimiser (the ``--method`` preset's recipe, HMPN: Adam 1e-3), batch size
and augmentations (HMPN: RandAugment(3, 9, 31) per image, then CutMix or MixUp per batch), on the
same class-stratified ``--train-limit`` training images, one after the other in one process:

- **hpnb**: :func:`hpnb.train.train` itself (``epochs = warm-up + measured``, no output folder).
  The dataset is decoded once (cached under ``data/cache``) and held as uint8 tensors on the
  device; each batch is gathered by index, augmented (RandAugment through hpnb's own code path),
  normalised, mixed (:func:`hpnb.mixing.mix_batch`) and trained on. Its figure is images / seconds
  over the measured epochs, from the trainer's per-epoch ``train_images_per_s``: that time covers
  the shuffle, batch gathering, augmentation, mixing, forward, backward and optimiser step, and not
  the evaluation after each epoch, the data loading nor the prototype placement. The first
  ``--warmup-epochs`` epochs are left out.
- **plain**: ``torch.utils.data.DataLoader`` over ``torchvision.datasets.ImageFolder`` of the
  image files (for CIFAR-10 the JPEGs that hpnb unpacks to ``data/cifar10-jpeg/train``): each
  worker reads and PIL-decodes the file, applies ``v2.RandAugment(3, 9, 31)`` to the PIL image,
  then ``v2.ToImage() + v2.ToDtype(float32, scale=True)`` (= ``ToTensor``) and ``v2.Normalize``
  (hpnb's mean/std of the same images); the collate function applies
  ``v2.RandomChoice([v2.CutMix(C), v2.MixUp(C)])`` to each batch (as torchvision's reference
  scripts do). ``--workers`` processes (default: the usable CPU count), persistent, pinned memory on
  CUDA. One iterator runs over ``warm-up + measured`` epochs' worth of samples (a RandomSampler
  drawing successive permutations), so the worker start-up and the first file reads fall in the
  warm-up and no epoch boundary refills the pipeline in the measured part, as in a long run. Its
  figure is images / seconds from the end of the warm-up images' last step to the end of the last
  step: reading, decoding, augmenting, collating, mixing, the host-to-device copy, forward,
  backward and step.

A third, reference figure (``--no-model-only`` skips it) times the same training steps on images
already normalised on the device, without augmentation, mixing or loading: the model's own cost,
which neither pipeline can beat. All three run at the precision ``hpnb.train`` chooses
(``--precision``, default ``auto``: :mod:`hpnb.precision`), and a fourth figure times hpnb's trainer
at the other one (fp32 against bf16 in the same rounds; ``--no-other-precision`` skips it). Prints the figures and ``hpnb / plain``, and writes a JSON file with the
settings and provenance.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pipeline.py --out data/bench/pipeline.json
    .venv/bin/python benchmarks/pipeline.py --dataset digits --arch digits-cnn --dim 16 --train-limit 256
    .venv/bin/python benchmarks/pipeline.py --device cuda --train-limit 10000   # on a GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import _common
from _common import median, provenance, set_threads, usable_cpus, write_json

IMAGE_RE = re.compile(r"(?:^|/)train/([^/]+)/([^/]+\.(?:jpg|jpeg|png))$", re.IGNORECASE)


def load_grey(path: str):
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert("L")


def load_rgb(path: str):
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


class MixCollate:
    """default_collate, then torchvision's CutMix or MixUp (equal odds) on the batch."""

    def __init__(self, num_classes: int, mixing: bool):
        from torchvision.transforms import v2

        self.mix = v2.RandomChoice([v2.CutMix(num_classes=num_classes), v2.MixUp(num_classes=num_classes)]) \
            if mixing else None

    def __call__(self, batch):
        from torch.utils.data import default_collate

        x, y = default_collate(batch)
        return self.mix(x, y) if self.mix is not None else (x, y)


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have exited (the DataLoader workers, once
    shut down); 0 where ``resource`` is missing."""
    try:
        import resource
    except ImportError:
        return 0.0
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_data(spec: str, train_limit: int | None, test_images: int, seed: int):
    """hpnb's dataset, training images cut to ``train_limit`` and the test set to ``test_images``
    (the trainer evaluates after every epoch; that time is outside its images/s, but not the wall's)."""
    from hpnb import data as hdata

    data = hdata.load(spec, seed=seed, train_limit=train_limit, progress=False)
    if test_images < len(data.test_y):
        keep = hdata.stratified_subset(data.test_y, max(test_images, data.num_classes), seed)
        data = dataclasses.replace(data, test_x=data.test_x[keep], test_y=data.test_y[keep])
    return data


def _extract_train(zpath: Path, dest: Path) -> Path:
    """Unpack the ``train/<class>/<image>`` members of a zip into ``dest/train``."""
    with zipfile.ZipFile(zpath) as zf:
        for name in zf.namelist():
            m = IMAGE_RE.search(name)
            if m and not any(p.startswith(".") or p == "__MACOSX" for p in name.split("/")):
                out = dest / "train" / m.group(1) / m.group(2)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(name))
    return dest / "train"


def image_folder(spec: str, data, train_limit: int | None, seed: int, workdir: Path):
    """(ImageFolder, indices of the same images hpnb trains on, a note on where the files are)."""
    import torch
    from torchvision.datasets import ImageFolder

    from hpnb import data as hdata
    from hpnb.prototypes import data_dir

    kind, _, arg = spec.partition(":")
    kind, arg = kind.strip().lower(), arg.strip()
    loader = load_grey if data.in_channels == 1 else load_rgb
    if kind == "digits":
        # No image files exist: write hpnb's (already cut) training images as PNGs once.
        from PIL import Image

        root = workdir / "train"
        for i, (img, label) in enumerate(zip(data.train_x, data.train_y.tolist())):
            folder = root / data.classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            arr = img.permute(1, 2, 0).squeeze(-1).numpy()
            Image.fromarray(arr).save(folder / f"{i:05d}.png")
        ds = ImageFolder(str(root), loader=loader)
        note = f"hpnb's {len(ds)} digits training images written as PNG to a temporary folder"
        return ds, list(range(len(ds))), note
    if kind == "cifar10-jpeg":
        root = data_dir() / "cifar10-jpeg" / "train"
        if not root.is_dir():  # hpnb's unpacked copy is gone (only the decoded cache is left)
            root = _extract_train(Path(arg).expanduser() / "cifar10-jpeg-train.zip", workdir)
    elif kind == "imagefolder":
        path = Path(arg).expanduser()
        root = path / "train" if path.is_dir() else _extract_train(path, workdir)
    else:
        raise SystemExit(f"--dataset {spec!r}: the plain pipeline needs digits, cifar10-jpeg:DIR or imagefolder:PATH")
    ds = ImageFolder(str(root), loader=loader)
    targets = torch.tensor(ds.targets)
    if train_limit is not None and train_limit < len(targets):
        indices = hdata.stratified_subset(targets, train_limit, seed).tolist()  # hpnb's selection rule
    else:
        indices = list(range(len(ds)))
    if ds.classes != list(data.classes) or not torch.equal(targets[indices], data.train_y):
        print("warning: the image folder's order differs from hpnb's; the plain pipeline's images are "
              "a selection of the same size and classes, not the very same images")
    return ds, indices, f"{root} ({len(indices)} of {len(ds)} files)"


def net_and_optimiser(cfg, data, device):
    """What hpnb.train builds: Net, fixed prototypes, optimiser and scheduler of the recipe."""
    import torch

    from hpnb import prototypes
    from hpnb.precision import choose
    from hpnb.train import RECIPES, Net

    torch.manual_seed(cfg.seed)
    net = Net(cfg, data.num_classes, data.in_channels, data.image_size[0]).to(device)
    if choose(cfg.precision, device).channels_last:
        net = net.to(memory_format=torch.channels_last)
    P = prototypes.place(data.num_classes, cfg.dim, cfg.prototypes, seed=cfg.seed).to(device)
    recipe = RECIPES[cfg.recipe]
    if recipe["optimizer"] == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=recipe["momentum"],
                              weight_decay=recipe["weight_decay"])
    else:
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=recipe["weight_decay"])
    milestones = sorted({max(1, round(f * cfg.epochs)) for f in recipe["milestones"]})
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    return net, P, opt, sched


def objective(cfg, z, P, target):
    from hpnb import losses

    if cfg.objective == "cosine_sq":
        return losses.cosine_sq(z, P, target, reduction="sum")  # as hpnb.train
    return losses.prototype_ce(z, P, target, reduction="mean")


def run_hpnb(cfg, data, warmup_epochs: int) -> dict:
    from hpnb.train import train

    start = time.perf_counter()
    run = train(cfg, None, progress=False, data=data)
    wall = time.perf_counter() - start
    history = run.results["history"]
    n = len(data.train_y)
    measured = history[warmup_epochs:]
    seconds = sum(n / r["train_images_per_s"] for r in measured)
    return {
        "images_per_s": n * len(measured) / seconds,
        "images": n * len(measured),
        "seconds": seconds,
        "per_epoch_images_per_s": [r["train_images_per_s"] for r in history],
        "warmup_epochs": warmup_epochs,
        "final_train_loss": history[-1]["train_loss"],
        "wall_seconds_incl_eval_and_setup": wall,
    }


def run_plain(cfg, data, ds, indices, workers: int, augment: str, warmup_epochs: int, device) -> dict:
    import torch
    from torch.utils.data import DataLoader, RandomSampler, Subset
    from torchvision.transforms import v2

    from hpnb.precision import choose

    ops = []
    if augment == "randaugment":
        # HMPN §4's settings, torchvision's own transform, here on PIL images.
        ops.append(v2.RandAugment(num_ops=3, magnitude=9, num_magnitude_bins=31))
    elif augment == "crop-flip":
        ops += [v2.RandomCrop(data.image_size, padding=4, fill=0), v2.RandomHorizontalFlip()]  # black, as hpnb
    ops += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(data.mean), list(data.std))]
    ds.transform = v2.Compose(ops)
    subset = Subset(ds, indices)
    n = len(subset)
    gen = torch.Generator().manual_seed(cfg.seed)
    sampler = RandomSampler(subset, num_samples=n * cfg.epochs, generator=gen)  # successive permutations
    loader = DataLoader(subset, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                        collate_fn=MixCollate(data.num_classes, cfg.mixing), pin_memory=device.type == "cuda",
                        persistent_workers=workers > 0)
    net, P, opt, sched = net_and_optimiser(cfg, data, device)
    prec = choose(cfg.precision, device)
    net.train()
    warm_images = n * warmup_epochs
    seen, t0, loss = 0, None, None
    start = time.perf_counter()
    for xb, target in loader:
        xb = xb.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        if prec.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with prec.autocast(device):
            z = net(xb)
        loss = objective(cfg, z.float(), P, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(xb)
        if seen % n < len(xb):  # an epoch's worth of images done
            sched.step()
        if t0 is None and seen >= warm_images:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, seen_at_t0 = time.perf_counter(), seen
    if device.type == "cuda":
        torch.cuda.synchronize()
    end = time.perf_counter()
    del loader  # shuts the persistent workers down
    images = seen - seen_at_t0
    return {
        "images_per_s": images / (end - t0),
        "images": images,
        "seconds": end - t0,
        "warmup_images": seen_at_t0,
        "warmup_seconds": t0 - start,
        "workers": workers,
        "final_train_loss": float(loss.detach()),
    }


def run_model_only(cfg, data, warmup_epochs: int, device) -> dict:
    """The same training steps on already normalised, unaugmented, unmixed images on the device:
    the rate neither pipeline can beat (the model's own cost)."""
    import torch
    import torch.nn.functional as F

    from hpnb import data as hdata
    from hpnb.precision import choose

    net, P, opt, _ = net_and_optimiser(cfg, data, device)
    prec = choose(cfg.precision, device)
    net.train()
    x = hdata.normalize(data.train_x.to(device), data.mean, data.std)
    y = F.one_hot(data.train_y, data.num_classes).float().to(device)  # soft labels, as after mixing
    if prec.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(cfg.seed)
    n, t0 = len(y), time.perf_counter()
    for epoch in range(cfg.epochs):
        if epoch == warmup_epochs:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            with prec.autocast(device):
                z = net(x[idx])
            loss = objective(cfg, z.float(), P, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    images = n * (cfg.epochs - warmup_epochs)
    return {"images_per_s": images / seconds, "images": images, "seconds": seconds}


INCLUDES = {
    "hpnb": "hpnb.train.train's train_images_per_s over the measured epochs: shuffle, index gather of uint8 "
            "tensors already on the device, augmentation, normalisation, mixing, forward, backward, step; "
            "not the per-epoch evaluation, data loading/decoding (cached) or prototype placement",
    "plain": "DataLoader over ImageFolder, steady state after the warm-up images: file read + PIL decode, "
             "v2.RandAugment on PIL, ToImage/ToDtype/Normalize, collate + v2 CutMix/MixUp in the workers, "
             "host-to-device copy, forward, backward, step; not the worker start-up (in the warm-up)",
    "model_only": "reference: forward, backward and step on normalised images already on the device, "
                  "no augmentation and no mixing (index gather only): the rate neither pipeline can beat",
    "hpnb_other": "as hpnb, with the trainer at the other precision (fp32 where it chose bf16, and back)",
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="cifar10-jpeg:/work/shared/data",
                        help="hpnb dataset spec: cifar10-jpeg:DIR, imagefolder:PATH or digits")
    parser.add_argument("--method", default="hmpn", choices=["hmpn", "hmpn-ce", "hpn", "proto-ce"],
                        help="hpnb preset: prototypes, objective, mixing and recipe (optimiser, lr)")
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--augment", default="randaugment", choices=["randaugment", "crop-flip", "none"])
    parser.add_argument("--mixing", default=None, action=argparse.BooleanOptionalAction,
                        help="CutMix/MixUp per batch (default: the preset's, on for hmpn)")
    parser.add_argument("--train-limit", type=int, default=512, help="training images (class-stratified)")
    parser.add_argument("--warmup-epochs", type=int, default=1, help="epochs left out of each figure")
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs after the warm-up")
    parser.add_argument("--test-images", type=int, default=100, help="test images hpnb's trainer evaluates per epoch")
    parser.add_argument("--workers", type=int, default=usable_cpus(),
                        help="DataLoader worker processes of the plain pipeline (default: usable CPUs)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="repeat both pipelines this many times, alternating which goes first; medians are reported")
    parser.add_argument("--model-only", default=True, action=argparse.BooleanOptionalAction,
                        help="also time the bare training steps without any data pipeline (a reference)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="the three figures' precision (auto: the trainer's own choice, hpnb.precision)")
    parser.add_argument("--other-precision", default=True, action=argparse.BooleanOptionalAction,
                        help="also time hpnb's trainer at the other precision (fp32 vs bf16 in the same rounds)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, OMP_NUM_THREADS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.warmup_epochs < 0 or args.rounds < 1:
        parser.error("--epochs and --rounds must be >= 1 and --warmup-epochs >= 0")
    set_threads(args.threads)
    device = resolve_device(args.device)
    prov = provenance(str(device))

    from hpnb.train import Config

    data = load_data(args.dataset, args.train_limit, args.test_images, args.seed)  # decodes once, then cached
    cfg = Config(dataset=args.dataset, method=args.method, arch=args.arch, dim=args.dim,
                 epochs=args.warmup_epochs + args.epochs, batch_size=args.batch_size, seed=args.seed,
                 augment=args.augment, mixing=args.mixing, train_limit=args.train_limit, device=str(device),
                 precision=args.precision).resolved()
    from hpnb.precision import choose

    chosen = choose(cfg.precision, device)
    other = dataclasses.replace(cfg, precision="fp32" if chosen.bf16 else "bf16")
    print(f"{len(data.train_y)} {data.name} training images {data.in_channels}x{data.image_size[0]}x{data.image_size[1]}, "
          f"{cfg.arch} d={cfg.dim}, {cfg.method} ({cfg.objective}, {cfg.recipe} recipe), batch {cfg.batch_size}, "
          f"augment {cfg.augment}, mixing {cfg.mixing}; {args.warmup_epochs} warm-up + {args.epochs} measured epochs; "
          f"device {device} ({prov['device_name']}), {prov['threads']} thread(s), plain workers {args.workers}; "
          f"precision {chosen.name} ({chosen.reason})", flush=True)

    label = {"hpnb": "hpnb pipeline ", "plain": "plain pipeline", "model_only": "model only    ",
             "hpnb_other": f"hpnb at {other.precision:4s} "}
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hpnb-bench-") as tmp:
        ds, indices, where = image_folder(args.dataset, data, args.train_limit, args.seed, Path(tmp))
        runners = {
            "hpnb": lambda: run_hpnb(cfg, data, args.warmup_epochs),
            "plain": lambda: run_plain(cfg, data, ds, indices, args.workers, cfg.augment, args.warmup_epochs, device),
            "model_only": lambda: run_model_only(cfg, data, args.warmup_epochs, device),
            "hpnb_other": lambda: run_hpnb(other, data, args.warmup_epochs),
        }
        for r in range(args.rounds):
            # Alternate which pipeline goes first, so a drift in the machine's load favours neither.
            order = ["hpnb", "plain"] if r % 2 == 0 else ["plain", "hpnb"]
            order += ["model_only"] if args.model_only else []
            order += ["hpnb_other"] if args.other_precision else []
            load = os.getloadavg() if hasattr(os, "getloadavg") else None
            res: dict = {"round": r + 1, "order": order, "loadavg_at_start": list(load) if load else None}
            for part in order:
                wall0, cpu0 = time.perf_counter(), cpu_seconds()
                res[part] = runners[part]()
                # Cores this part got over its whole call (set-up, warm-up and evaluation included):
                # well below the processes x threads it runs means other jobs took the rest.
                res[part]["cpu_cores_used"] = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
                extra = f", {args.workers} workers" if part == "plain" else ""
                print(f"round {r + 1}: {label[part]}: {res[part]['images_per_s']:8.1f} images/s "
                      f"({res[part]['images']} images in {res[part]['seconds']:.1f} s{extra}; "
                      f"{res[part]['cpu_cores_used']:.2f} cores used)", flush=True)
            res["ratio_hpnb_over_plain"] = res["hpnb"]["images_per_s"] / res["plain"]["images_per_s"]
            if args.other_precision:
                bf16, fp32 = (res["hpnb"], res["hpnb_other"]) if chosen.bf16 else (res["hpnb_other"], res["hpnb"])
                res["ratio_bf16_over_fp32"] = bf16["images_per_s"] / fp32["images_per_s"]
            rounds.append(res)
        shutil.rmtree(tmp, ignore_errors=True)

    parts = ["hpnb", "plain"] + (["model_only"] if args.model_only else []) + (["hpnb_other"] if args.other_precision else [])
    summary = {part: {"images_per_s": median([rd[part]["images_per_s"] for rd in rounds]),
                      "per_round_images_per_s": [rd[part]["images_per_s"] for rd in rounds],
                      "images_per_round": rounds[0][part]["images"], "includes": INCLUDES[part]}
               for part in parts}
    ratio = median([rd["ratio_hpnb_over_plain"] for rd in rounds])
    print()
    what = f"median of {args.rounds} rounds" if args.rounds > 1 else "one round"
    for part in parts:
        print(f"{label[part]}: {summary[part]['images_per_s']:8.1f} images/s ({what})")
    per_round = ", ".join(f"{rd['ratio_hpnb_over_plain']:.2f}" for rd in rounds)
    how = "median of the per-round ratios" if args.rounds > 1 else "one round"
    print(f"ratio hpnb / plain: {ratio:.2f}x ({how}; per round {per_round}); "
          f"load average at start {prov['loadavg_at_start']}")
    precision_ratio = None
    if args.other_precision:
        precision_ratio = median([rd["ratio_bf16_over_fp32"] for rd in rounds])
        per_round = ", ".join(f"{rd['ratio_bf16_over_fp32']:.2f}" for rd in rounds)
        print(f"ratio hpnb bf16 / fp32: {precision_ratio:.2f}x ({how}; per round {per_round}); "
              f"the trainer chooses {chosen.name} here ({chosen.reason})")
    result = {
        "benchmark": "pipeline",
        "settings": {**vars(args), "device": str(device), "config": dataclasses.asdict(cfg),
                     "train_images": len(data.train_y), "image_folder": where},
        "provenance": prov,
        **{part: summary.get(part) for part in ("hpnb", "plain", "model_only", "hpnb_other")},
        "ratio_hpnb_over_plain": ratio,
        "precision": {**chosen.record(), "other": other.precision, "ratio_bf16_over_fp32": precision_ratio},
        "rounds": rounds,
    }
    write_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
