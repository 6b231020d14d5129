"""One trainer for every method: a method is a preset of four orthogonal switches.

- ``prototypes``: a placement method of :mod:`hpnb.prototypes` (fixed prototypes), ``learned``
  (DPNP: prototypes shared with the classifier on a radius-alpha sphere) or ``linear`` (a learned
  linear classifier: the softmax and centre-loss baselines);
- ``objective``: ``cosine_sq`` (HPN Eq. 1 / HMPN Eq. 3 on mixed labels), ``prototype_ce`` (HMPN
  Eq. 2 / Eq. 4), ``softmax_ce``, ``center``, ``cosine_softmax``, ``cpn``, ``ccl`` (with a linear
  classifier: CCL; with ``prototypes="means"``, the re-estimated class means as the classifier: SCCL),
  ``dpp``, ``dpnp``;
  and, on datasets with a real target per image (``rotated-digits``), ``hpn_regression`` (HPN Eq. 7
  between the antipodal bounds +-e0), ``squared_regression`` (HPN §3.2's squared-loss baseline on a
  linear head), ``joint`` (HPN §2.3: Eq. 1 + Eq. 7 in one output space, class prototypes in the
  complement of the regression axis) and ``multitask`` (HPN Table 6's task-weighted softmax + squared
  loss baseline);
- ``mixing``: CutMix/MixUp per batch with soft labels (HMPN);
- ``assignment``: ``static`` or ``dynamic`` (DL2PA's Hungarian re-assignment once per epoch).

Any combination that makes sense is allowed (e.g. ``hpn`` + dynamic assignment + mixing). Each paper's
optimiser and schedule is a ``recipe``. A run writes ``checkpoint.pt`` every epoch (atomically) and
``results.json`` (config, history, best and final metrics, provenance); ``resume=True`` continues a
killed run to the same result.

The data stay on the training device as uint8 and batches are drawn by index, with every augmentation
applied per batch on that device (:mod:`hpnb.augment`, :mod:`hpnb.mixing`); ``precision`` decides
bf16 autocast with channels_last (on CUDA, and on CPUs with native bfloat16, by default:
:mod:`hpnb.precision`), and ``compile=True`` compiles the embedding net. Under ``torchrun``
(``WORLD_SIZE`` > 1) each rank trains on its contiguous slice of the same global batch, with the loss
scaled, BatchNorm and the class means synchronised so that the run follows the one-process run of
that global batch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import subprocess
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from hpnb import augment as haugment
from hpnb import data as hdata
from hpnb import precision
from hpnb import losses, metrics, mixing, models, prototypes
from hpnb.assignment import DynamicAssignment
from hpnb.config import (AUGMENTS, HEADS, HISTORY_UNITS, OBJECTIVES, PRESETS, RECIPES, REGRESSION_OBJECTIVES,  # noqa: F401
                         SUMMED_OBJECTIVES, VALUE_OBJECTIVES, Config, ConfigError, Diverged)
from hpnb.files import FolderBusy, run_lock, write_atomic

class Net(nn.Module):
    """Backbone + embedding head, and whatever the objective trains beside it."""

    def __init__(self, cfg: Config, num_classes: int, in_channels: int, image_size: int):
        super().__init__()
        self.embed = models.build(cfg.arch, cfg.dim, in_channels=in_channels, image_size=image_size, head=cfg.head)
        if cfg.prototypes == "linear" and cfg.objective != "squared_regression":
            # CCL's logits are z^T w_c / |w_c|: no bias.
            self.classifier = nn.Linear(cfg.dim, num_classes, bias=cfg.objective != "ccl")
        if cfg.objective in ("squared_regression", "multitask"):
            # HPN §3.2's baseline: "an additional layer to a real output" after the d-dim layer.
            self.regressor = nn.Linear(cfg.dim, 1)
        if cfg.objective == "center":
            self.centers = nn.Parameter(torch.randn(num_classes, cfg.dim))
        if cfg.objective == "ccl":
            # Unit centres, re-estimated as class means (_CentreMeans), so a buffer: saved, never learned.
            gen = torch.Generator().manual_seed(cfg.seed)
            self.register_buffer("centres", F.normalize(torch.randn(num_classes, cfg.dim, generator=gen), dim=1))
        if cfg.prototypes == "learned":
            gen = torch.Generator().manual_seed(cfg.seed)
            self.protos = nn.Parameter(F.normalize(torch.randn(num_classes, cfg.dim, generator=gen), dim=1) * _radius(cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


def _fixed_prototypes(cfg: Config, classes: list[str], device: torch.device) -> torch.Tensor | None:
    if cfg.prototypes in HEADS or cfg.objective == "hpn_regression":
        return None
    num_classes = len(classes)
    extra = {}
    if uses_word_vectors(cfg):
        from hpnb.embeddings import class_name_embeddings  # HPN Eq. 6: the dataset's class names

        extra["embeddings"] = class_name_embeddings(classes, vectors=cfg.word_vectors)
    try:
        if cfg.objective == "joint":
            return prototypes.joint(num_classes, cfg.dim, cfg.prototypes, seed=cfg.seed, **extra)[0].to(device)
        return prototypes.place(num_classes, cfg.dim, cfg.prototypes, seed=cfg.seed, **extra).to(device)
    except prototypes.PrototypeError as err:
        raise ConfigError(f"cannot place {num_classes} prototypes in dim {cfg.dim}: {err}") from None


def uses_word_vectors(cfg: Config) -> bool:
    """Whether a resolved config's prototypes are built from class-name word vectors."""
    return cfg.prototypes in prototypes.NEEDS_EMBEDDINGS and cfg.objective != "hpn_regression"


def _word_vector_source(cfg: Config) -> dict[str, str]:
    """``{"word_vectors": source with checksum}`` for a run whose prototypes come from class-name vectors."""
    if not uses_word_vectors(cfg):
        return {}
    from hpnb.embeddings import word_vectors

    return {"word_vectors": word_vectors(cfg.word_vectors).source}


def _augment(xb: torch.Tensor, data: hdata.ImageData, randaugment: haugment.RandAugment | None,
             ra_draws: torch.Tensor | None, crop_flip: haugment.CropFlip | None,
             cf_draws: torch.Tensor | None) -> torch.Tensor:
    """uint8 images to the normalised network input. Crop and flip run in pixel space, so the padding
    is black, as in the papers' pipelines (torchvision's RandomCrop(32, 4) before Normalize)."""
    if randaugment is not None:
        xb = randaugment.apply(xb, ra_draws)
    if crop_flip is not None:
        xb = crop_flip.apply(xb, cf_draws)
    return hdata.normalize(xb, data.mean, data.std)


def _radius(cfg: Config) -> float:
    """Length of learned class vectors: DPNP's alpha; 1 for the cosine softmax, which normalises
    them (a vector of length r moves 1/r^2 as fast in angle, so alpha = 40 would all but fix it),
    and 1 at the start for CPN, whose prototypes then move freely in Euclidean space."""
    return 1.0 if cfg.objective in ("cosine_softmax", "cpn") else cfg.alpha


def _optimizer(cfg: Config, net: Net, recipe: dict[str, Any]) -> torch.optim.Optimizer:
    """The recipe's optimiser. DPNP's learned prototypes get a group of their own (``proto_group
    "plain"``): the centre learning rate eta_c (DPNP §V-B: 0.1, equal to the network's, so the same
    schedule) without momentum or weight decay, which DPNP gives the network only; with the network's
    momentum the prototypes collapse into the features' cone within an epoch (issue 10.1).
    ``"shared"`` keeps them in the network's group."""
    protos = [p for name, p in net.named_parameters() if name == "protos"]
    rest = [p for name, p in net.named_parameters() if name != "protos"]
    groups: list[dict[str, Any]] = [{"params": rest}]
    if protos and cfg.proto_group == "plain":
        groups.append({"params": protos, "lr": _proto_lr(cfg), "weight_decay": 0.0,
                       **({"momentum": 0.0} if recipe["optimizer"] == "sgd" else {})})
    else:
        groups[0]["params"] = rest + protos
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=recipe["momentum"], weight_decay=recipe["weight_decay"])
    return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=recipe["weight_decay"])


def _proto_lr(cfg: Config) -> float:
    """The learned prototypes' rate: ``proto_lr`` if set, else the network's (DPNP's eta_c), except
    for CPN: its prototypes sit at radius 1 where ResNet-32's pooled features start near norm 14, so
    at the network's 0.1 each step moves them by about their own length, the distance softmax turns
    confidently wrong (loss 8 -> 13 in five steps), the features shrink to zero and die (97% zero
    after 20 steps, test accuracy at chance); a tenth of the rate trains (issue 14; book/deviations.md)."""
    if cfg.proto_lr is not None:
        return cfg.proto_lr
    return cfg.lr / 10 if cfg.objective == "cpn" else cfg.lr


def _shared_prototypes(cfg: Config, classes: list[str], device: torch.device, ranks: Ranks) -> torch.Tensor | None:
    """The fixed prototypes; under ``torchrun`` rank 0 places them and the others receive them, so
    that no two ranks race on the prototype cache or solve the same placement twice."""
    if ranks.world == 1 or cfg.prototypes in HEADS or cfg.objective == "hpn_regression":
        return _fixed_prototypes(cfg, classes, device)
    P = _fixed_prototypes(cfg, classes, device) if ranks.rank == 0 else torch.empty(len(classes), cfg.dim, device=device)
    dist.broadcast(P, src=0)
    return P


def _axis(cfg: Config, device: torch.device) -> torch.Tensor:
    """The regression upper bound p_u = e0 (p_l = -e0), as HPN's code and :func:`prototypes.joint`."""
    return F.one_hot(torch.tensor(0), cfg.dim).float().to(device)


def _objective(cfg: Config, net: Net, z: torch.Tensor, P: torch.Tensor | None, y: torch.Tensor,
               values: torch.Tensor | None = None, bounds: tuple[float, float] = (0.0, 1.0),
               class_weight: torch.Tensor | None = None) -> torch.Tensor:
    # The value objectives are summed over the batch, as HPN's code sums Eq. 1 and Eq. 7.
    if cfg.objective == "hpn_regression":
        return losses.hpn_regression(z, _axis(cfg, z.device), values, *bounds)
    if cfg.objective == "squared_regression":
        return losses.squared_regression_baseline(net.regressor(z), values, *bounds)
    if cfg.objective == "joint":
        return losses.joint_loss(z, P, _axis(cfg, z.device), y, values, *bounds, weight=cfg.task_weight).total
    if cfg.objective == "multitask":
        return losses.multitask_baseline_loss(net.classifier(z), net.regressor(z), y, values, *bounds,
                                              weight=cfg.task_weight).total
    if cfg.objective == "cosine_sq" and (cfg.lt_mixup > 0 or cfg.class_reweight):
        return losses.interpolated_cosine_sq(z, P, y, class_weight, reduction="sum")  # DL2PA's long-tail recipe
    if cfg.objective == "cosine_sq":
        return losses.cosine_sq(z, P, y, reduction="sum")  # summed, as HPN's and HMPN's code
    if cfg.objective == "prototype_ce":
        return losses.prototype_ce(z, P, y, reduction="mean")  # HMPN's code: F.cross_entropy's mean
    if cfg.objective == "softmax_ce" and (cfg.lt_mixup > 0 or cfg.class_reweight):
        # Soft-label CE is linear in the label: the mixup label gives lam CE(y_a) + (1 - lam) CE(y_b), and
        # scaling each class's label weight by s_c weights each sample's loss by its class's.
        soft = y.to(z.dtype) if y.is_floating_point() else F.one_hot(y.long(), net.classifier.out_features).to(z.dtype)
        weighted = soft * class_weight.to(z.dtype) if class_weight is not None else soft
        return losses.softmax_ce(net.classifier(z), weighted, reduction="mean")
    if cfg.objective == "softmax_ce":
        return losses.softmax_ce(net.classifier(z), y, reduction="mean")
    if cfg.objective == "center":
        return (losses.softmax_ce(net.classifier(z), y, reduction="mean")
                + cfg.center_weight * losses.center_loss(z, net.centers, y, reduction="mean"))
    if cfg.objective == "cosine_softmax":
        return losses.cosine_softmax(z, net.protos, y, scale=cfg.cosine_scale, reduction="mean")
    if cfg.objective == "cpn":
        return losses.cpn(z, net.protos, y, gamma=cfg.cpn_gamma, pl_weight=cfg.center_weight, reduction="mean")
    if cfg.objective == "ccl":
        return losses.ccl(z, _ccl_weights(cfg, net), net.centres, y, weight=cfg.ccl_weight, reduction="mean")
    if cfg.objective == "dpp":
        return losses.dpp(z, net.protos, y, alpha=cfg.alpha, lambda_pos=cfg.lambda_pos).total
    return losses.dpnp(z, net.protos, y, alpha=cfg.alpha, lambda_pos=cfg.lambda_pos,
                       lambda_neg_sample=cfg.lambda_neg_sample, lambda_neg_class=cfg.lambda_neg_class).total


def _ccl_weights(cfg: Config, net: Net) -> torch.Tensor:
    """CCL's classifier weights, or SCCL's: the centres themselves."""
    return net.classifier.weight if cfg.prototypes == "linear" else net.centres


def _scores(cfg: Config, net: Net, z: torch.Tensor, P: torch.Tensor | None) -> torch.Tensor:
    """Class scores whose argmax is the prediction."""
    if P is not None:
        return F.normalize(z, dim=1) @ P.T  # nearest prototype by cosine
    if cfg.objective == "ccl":
        return z @ F.normalize(_ccl_weights(cfg, net), dim=1).T
    if cfg.prototypes == "linear":
        return net.classifier(z)
    if cfg.objective == "cosine_softmax":
        return F.normalize(z, dim=1) @ F.normalize(net.protos, dim=1).T
    if cfg.objective == "cpn":
        return -torch.cdist(z.float(), net.protos.float())  # the nearest prototype in Euclidean distance
    return z @ net.protos.T / cfg.alpha  # DPNP: the shared classifier


def _values(cfg: Config, net: Net, z: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    """Predicted values (B,) in the targets' units."""
    if cfg.objective in ("hpn_regression", "joint"):
        return losses.regression_prediction(z, _axis(cfg, z.device), *bounds)
    return losses.regression_baseline_prediction(net.regressor(z), *bounds)


def _warm_up(opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.MultiStepLR, cfg: Config, epoch: int) -> None:
    """Linear warm-up: epoch e < W trains at (e + 1) / W of each group's rate; epoch W restores it.

    Config.validate keeps the schedule's first step after the warm-up, so the base rates are the
    rates to restore. Set at every epoch's start, so a resumed run gets the same rates.
    """
    if cfg.warmup_epochs and epoch <= cfg.warmup_epochs:
        factor = min(1.0, (epoch + 1) / cfg.warmup_epochs)
        for group, base in zip(opt.param_groups, sched.base_lrs):
            group["lr"] = base * factor


def _class_directions(cfg: Config, net: Net, P: torch.Tensor | None) -> torch.Tensor | None:
    """The per-class directions whose geometry is reported (prototypes, DPNP's learnt prototypes, the
    centre loss's centres, CE's weights); None for a regression without classes."""
    if cfg.objective in REGRESSION_OBJECTIVES:
        return None
    if P is not None:
        return P
    if cfg.prototypes == "learned":
        return net.protos.detach()
    if cfg.objective == "center":
        return net.centers.detach()  # DPNP Tables III-IV measure the centre loss's centres, not its weights
    if cfg.objective == "ccl":
        return net.centres.detach()  # DPNP: CCL's centres; SCCL's weights, which are its centres
    return net.classifier.weight.detach()


class _CentreMeans:
    """CCL's centres, re-estimated "as averages of class samples in the feature space at the end of
    every other epoch" (DPNP §II on Shi et al. 2023): the unit embeddings of an epoch's training
    batches are summed per class, and after epochs 1, 3, 5, ... the centres become the normalised
    means. Summing during the epoch spares a second pass over the training set; the sums see the
    network as it changes over that epoch (book/deviations.md)."""

    EVERY = 2

    def __init__(self, num_classes: int, dim: int, device: torch.device):
        self.sums = torch.zeros(num_classes, dim, device=device)
        self.counts = torch.zeros(num_classes, device=device)

    def add(self, z: torch.Tensor, y: torch.Tensor) -> None:
        weights = y.float() if y.is_floating_point() else F.one_hot(y.long(), len(self.counts)).float()
        self.sums += weights.T @ F.normalize(z.detach().float(), dim=1)
        self.counts += weights.sum(dim=0)

    @torch.no_grad()
    def end_epoch(self, epoch: int, centres: torch.Tensor) -> None:
        """After 0-based ``epoch``: update ``centres`` in place when it is due, and start new sums."""
        if epoch % self.EVERY == 0:
            centres.copy_(losses.class_mean_directions(self.sums, self.counts, centres))
        self.sums.zero_()
        self.counts.zero_()


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks whose backward also sums: each rank gets the gradient of the total loss."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class _GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm that normalises with the statistics of the global batch across DDP ranks.

    ``nn.SyncBatchNorm`` does this for GPU tensors only (torch 2.14 raises on CPU tensors), so runs
    with gloo could not be checked against one process. This one all-reduces per-channel sums and
    sums of squares (in float64, so E[x^2] - E[x]^2 does not cancel) through an autograd-aware sum,
    on any device; evaluation and single-process training are plain BatchNorm. Its parameters and
    buffers are BatchNorm's, so state dicts load either way.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {input.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float64, device=x.device)
        local = torch.cat([xf.sum(dims, dtype=torch.float64), (xf * xf).sum(dims, dtype=torch.float64), count])
        total = _AllReduceSum.apply(local)
        C, n = x.shape[1], total[-1]
        mean = total[:C] / n
        var = total[C:2 * C] / n - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.float(), factor)
                self.running_var.lerp_((var * n / (n - 1)).float(), factor)  # unbiased, as F.batch_norm
        scale = torch.rsqrt(var + self.eps).float()
        shift = -mean.float() * scale
        if self.affine:
            scale, shift = scale * self.weight, shift * self.weight + self.bias
        shape = (1, C) + (1,) * (x.dim() - 2)
        return (xf * scale.view(shape) + shift.view(shape)).to(x.dtype)


def _global_batchnorm(module: nn.Module) -> None:
    """Swap every BatchNorm under ``module`` for a :class:`_GlobalBatchNorm` with the same state."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            synced = _GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                      child.track_running_stats)
            synced.load_state_dict(child.state_dict())
            setattr(module, name, synced)
        else:
            _global_batchnorm(child)


@dataclass(frozen=True)
class Ranks:
    """This process's place among the ``torchrun`` workers; one process is rank 0 of 1."""

    rank: int = 0
    world: int = 1

    def sizes(self, n: int) -> list[int]:
        """How many of ``n`` rows each rank holds: contiguous slices, the first ones one longer."""
        return [n // self.world + (r < n % self.world) for r in range(self.world)]

    def share(self, n: int) -> tuple[int, int]:
        """This rank's slice [lo, hi) of ``n`` rows."""
        sizes = self.sizes(n)
        lo = sum(sizes[:self.rank])
        return lo, lo + sizes[self.rank]

    def gather(self, t: torch.Tensor, n: int) -> torch.Tensor:
        """The ``n`` rows whose slices the ranks hold, in order (``t`` is this rank's slice)."""
        if self.world == 1:
            return t
        sizes = self.sizes(n)
        # all_gather wants equal shapes: pad to the longest slice and cut back.
        padded = t.new_zeros((sizes[0], *t.shape[1:]))
        padded[:len(t)] = t
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        return torch.cat([part[:size] for part, size in zip(parts, sizes)])

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """The sum of ``t`` over ranks."""
        if self.world == 1:
            return t
        t = t.clone()
        dist.all_reduce(t)
        return t


@contextmanager
def _distributed(device_name: str) -> Iterator[tuple[Ranks, torch.device]]:
    """The ranks and this rank's device; under ``torchrun`` (``WORLD_SIZE`` > 1) the process group,
    created here unless the caller made one, and destroyed on the way out."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = _device(device_name)
    if world == 1:
        yield Ranks(), device
        return
    if device.type == "cuda":
        if device.index is not None:
            raise ConfigError(f"under torchrun each rank uses cuda:LOCAL_RANK; use device 'auto' or 'cuda', "
                              f"not {device_name!r}")
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owned = not dist.is_initialized()
    if owned:
        cuda = device.type == "cuda"
        dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
    try:
        yield Ranks(dist.get_rank(), dist.get_world_size()), device
    finally:
        if owned:
            dist.destroy_process_group()


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _git_dirty(root: Path) -> bool:
    """Whether tracked files outside ``data/`` differ from HEAD.

    ``data/`` is left out because the results a reproduce run writes there would otherwise mark
    every later run of the same sweep as made from uncommitted code.
    """
    return bool(_git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)data"))


def _provenance(device: torch.device) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    import torchvision

    return {
        "git_revision": _git(root, "rev-parse", "HEAD") or "unknown",
        "git_dirty": _git_dirty(root),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _save_atomic(obj: Any, path: Path) -> None:
    write_atomic(path, lambda f: torch.save(obj, f))


def _strict(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None, so that it is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return obj


_RUN_FILES = ("checkpoint.pt", "results.json")


@contextmanager
def _out_folder(out_dir: Path | None, resume: bool, overwrite: bool, rank: int) -> Iterator[None]:
    """Create, check and lock the run folder; refuse to replace a run without ``overwrite``."""
    if out_dir is None or rank != 0:
        yield
        return
    if str(out_dir) in ("", "."):
        raise ConfigError("out must name a run folder, not the current directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"out {out_dir} exists and is not a folder")
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the run folder {out_dir}: {err.strerror}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"the run folder {out_dir} is not writable")
    try:
        with run_lock(out_dir):
            present = [name for name in _RUN_FILES if (out_dir / name).exists()]
            if present and overwrite:
                for name in present:
                    (out_dir / name).unlink()
            elif present and not resume:
                raise ConfigError(f"{out_dir} already holds a run ({', '.join(present)}); pass --resume to continue "
                                  "it, --overwrite to replace it, or use another --out")
            yield
    except FolderBusy as err:
        raise ConfigError(str(err)) from None
    except BaseException:
        if created and {p.name for p in out_dir.iterdir()} <= {".lock"}:  # refused before writing anything
            (out_dir / ".lock").unlink(missing_ok=True)
            out_dir.rmdir()
        raise


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, empty, random or foreign bytes: torch raises many kinds
        raise ConfigError(f"{path} is not a readable hpnb checkpoint ({type(err).__name__}); delete it or pass "
                          "--overwrite to start the run afresh") from None
    if not isinstance(state, dict) or not {"epoch", "config", "model"} <= set(state):
        raise ConfigError(f"{path} is not an hpnb checkpoint; delete it or pass --overwrite to start the run afresh")
    return state


def _resumable(saved_json: str, cfg: Config, done: int, milestones: list[int], path: Path) -> None:
    """Refuse a resume under another config; a longer (or shorter) ``epochs`` is allowed when the
    learning rate of the epochs already run is the same under the new schedule."""
    current = dataclasses.asdict(cfg)
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    saved = {**{k: defaults[k] for k in current if k in defaults}, **json.loads(saved_json)}  # fields added since
    differ = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    hint = "use another --out, or --overwrite to replace the run"
    if differ and differ != ["epochs"]:
        raise ConfigError(f"{path} was written by another config (differs in {', '.join(differ)}); {hint}")
    if differ:
        old = sorted({max(1, round(f * saved["epochs"])) for f in RECIPES[cfg.recipe]["milestones"]})
        if [m for m in old if m <= done] != [m for m in milestones if m <= done] or cfg.epochs < done:
            raise ConfigError(f"{path} ran {done} of {saved['epochs']} epochs; with epochs {cfg.epochs} the "
                              f"{cfg.recipe} schedule's steps (epochs {milestones}) would differ for the epochs "
                              f"already run (epochs {old}); {hint}")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but CUDA is not available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


@torch.no_grad()
def _embed_all(cfg: Config, net: Net, x: torch.Tensor, mean, std, batch_size: int, ranks: Ranks) -> torch.Tensor:
    """Embeddings of all of ``x`` in eval mode; under DDP each rank embeds its slice, all get the whole."""
    net.eval()
    device = next(net.parameters()).device
    prec = precision.choose(cfg.precision, device)
    lo, hi = ranks.share(len(x))
    zs = [torch.empty(0, cfg.dim, device=device)]  # a rank with an empty slice still joins the gather
    for start in range(lo, hi, batch_size):
        xb = hdata.normalize(x[start:min(start + batch_size, hi)].to(device), mean, std)
        if prec.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with prec.autocast(device):
            zs.append(net(xb).float())
    return ranks.gather(torch.cat(zs), len(x))


@torch.no_grad()
def train_scr_raw(cfg: Config, net: Net, data: hdata.ImageData, P: torch.Tensor | None,
                  batch_size: int = 512, ranks: Ranks = Ranks()) -> float | None:
    """DPNP Eq. 13 as printed: raw features and raw class directions, over the training samples."""
    directions = _class_directions(cfg, net, P)
    if directions is None:
        return None
    z = _embed_all(cfg, net, data.train_x, data.mean, data.std, batch_size, ranks)
    return metrics.scr(z, directions, data.train_y, normalize=False)


@torch.no_grad()
def evaluate(cfg: Config, net: Net, x: torch.Tensor, y: torch.Tensor, mean, std,
             P: torch.Tensor | None, batch_size: int = 512, *, ranks: Ranks = Ranks(),
             values: torch.Tensor | None = None, bounds: tuple[float, float] = (0.0, 1.0)) -> dict[str, float]:
    """Accuracy, summed squared dissimilarity, SCR and class-direction geometry on (x, y); for the
    value objectives also the mean absolute error ``test_mae`` of the predicted ``values``.

    Under DDP each rank embeds its slice of ``x`` and all ranks get the same metrics of the whole.
    """
    z = _embed_all(cfg, net, x, mean, std, batch_size, ranks)
    device = z.device
    out: dict[str, float] = {}
    if cfg.objective in VALUE_OBJECTIVES:
        out["test_mae"] = float((_values(cfg, net, z, bounds) - values.to(device)).abs().mean())
    directions = _class_directions(cfg, net, P)
    if directions is None:
        return out
    if cfg.objective == "joint":
        z = z - z[:, :1] * F.one_hot(torch.tensor(0), cfg.dim).to(z)  # the class part: e0's complement
    y = y.to(device)
    pred = _scores(cfg, net, z, P).argmax(dim=1)
    geometry = metrics.prototype_geometry(directions)
    return {
        **out,
        "test_acc": float((pred == y).float().mean()),
        "test_sq_dissim": metrics.summed_sq_dissimilarity(z, directions, y),
        "test_scr": metrics.scr(z, directions, y),
        **{f"proto_{k}": v for k, v in geometry.items()},
    }


@dataclass
class Run:
    """What :func:`train` returns: the results (as written to results.json) and the trained parts."""

    results: dict[str, Any]
    net: Net
    directions: torch.Tensor | None  # class directions under the final assignment; None for regression
    data: hdata.ImageData = field(repr=False)

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Raw embeddings (N, d) of uint8 images ``x``, on the CPU, at the precision the run used."""
        cfg = Config(**self.results["config"])
        return _embed_all(cfg, self.net, x, self.data.mean, self.data.std, batch_size, Ranks()).cpu()


def train(cfg: Config, out: str | Path | None = None, *, resume: bool = False, overwrite: bool = False,
          progress: bool = True, data: hdata.ImageData | None = None) -> Run:
    """Train ``cfg``; write checkpoint.pt and results.json under ``out`` (if given).

    A folder that already holds a run is continued with ``resume``, replaced with ``overwrite``, and
    otherwise refused; a folder another process is writing is refused. ``data`` may be passed in to
    share one loaded dataset between runs (it must be ``cfg.dataset``). Under ``torchrun`` every rank
    returns the same results; only rank 0 writes files and shows progress.
    """
    cfg = cfg.resolved()
    out_dir = Path(out) if out is not None else None
    with _distributed(cfg.device) as (ranks, device), _out_folder(out_dir, resume, overwrite, ranks.rank):
        return _train(cfg, ranks, device, out_dir, resume, progress and ranks.rank == 0, data)


def _check_data(cfg: Config, data: hdata.ImageData) -> None:
    """Set-ups that would train but mean nothing, refused before the first step."""
    C = data.num_classes
    if cfg.objective not in REGRESSION_OBJECTIVES and C < 2:
        raise ConfigError(f"{data.name} has {C} class: classification needs at least 2")
    if cfg.train_limit is not None and cfg.train_limit < C and cfg.objective not in REGRESSION_OBJECTIVES:
        raise ConfigError(f"train_limit {cfg.train_limit} is below the {C} classes: some classes would have no image")
    if cfg.dim == 1 and C > 2 and cfg.prototypes != "linear" and cfg.objective not in REGRESSION_OBJECTIVES:
        raise ConfigError(f"dim 1 holds only two directions (+1, -1): {C} class prototypes would collide; use dim >= 2")


def _train(cfg: Config, ranks: Ranks, device: torch.device, out_dir: Path | None, resume: bool, progress: bool,
           data: hdata.ImageData | None) -> Run:
    from tqdm.auto import tqdm

    wall_start = time.perf_counter()
    provenance = {**_provenance(device), "world_size": ranks.world}
    if data is None:
        data = hdata.load(cfg.dataset, seed=cfg.seed, train_limit=cfg.train_limit, test_limit=cfg.test_limit,
                          long_tail=cfg.long_tail, image_size=cfg.image_size, progress=progress)
    _check_data(cfg, data)
    C = data.num_classes
    n_train = len(data.train_y)
    bounds = (0.0, 1.0)
    if cfg.objective in VALUE_OBJECTIVES:
        if data.train_targets is None:
            raise ConfigError(f"objective {cfg.objective} needs a dataset with a value per image, e.g. "
                              f"rotated-digits; {data.name} has none")
        bounds = (float(data.train_targets.min()), float(data.train_targets.max()))  # HPN: the training range
    if min(cfg.batch_size, n_train % cfg.batch_size or cfg.batch_size) < ranks.world:
        raise ConfigError(f"every batch needs at least one image per rank: batch_size {cfg.batch_size} over "
                          f"{n_train} images leaves a batch smaller than the {ranks.world} ranks")

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order, augmentation, mixing: restored on resume
    net = Net(cfg, C, data.in_channels, data.image_size[0])
    if ranks.world > 1:
        _global_batchnorm(net)  # statistics of the global batch, as one process would compute them
    net = net.to(device)
    prec = precision.choose(cfg.precision, device)
    provenance["precision"] = prec.record()
    if prec.channels_last:
        net = net.to(memory_format=torch.channels_last)
    P = _shared_prototypes(cfg, data.class_words or data.classes, device, ranks)
    dynamic = DynamicAssignment(C, C) if cfg.assignment == "dynamic" else None
    centre_means = _CentreMeans(C, cfg.dim, device) if cfg.objective == "ccl" else None

    recipe = RECIPES[cfg.recipe]
    opt = _optimizer(cfg, net, recipe)
    milestones = sorted({max(1, round(f * cfg.epochs)) for f in recipe["milestones"]})
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    randaugment = haugment.RandAugment(3, 9, 31) if cfg.augment == "randaugment" else None  # HMPN §4
    crop_flip = haugment.CropFlip(pad=4) if cfg.augment == "crop-flip" else None

    history: list[dict[str, Any]] = []
    first_epoch = 0
    ckpt_path = out_dir / "checkpoint.pt" if out_dir else None
    config_json = json.dumps(dataclasses.asdict(cfg), sort_keys=True)
    if resume and ckpt_path and ckpt_path.exists():
        # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the device.
        state = _load_checkpoint(ckpt_path)
        if state["config"] != config_json:
            _resumable(state["config"], cfg, state["epoch"] + 1, milestones, ckpt_path)
        net.load_state_dict(state["model"])
        try:
            opt.load_state_dict(state["optimizer"])
        except ValueError as err:  # e.g. a checkpoint from before the prototypes had their own group
            raise ConfigError(f"{ckpt_path}: its optimiser state does not fit this run ({err}); use --overwrite "
                              "to start afresh") from None
        sched.load_state_dict(state["scheduler"])
        sched.milestones = Counter(milestones)  # a resume with a longer epochs keeps the new schedule
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if dynamic is not None:
            dynamic.load_state_dict(state["assignment"])
        history = json.loads(state["history"])
        first_epoch = state["epoch"] + 1

    # What runs the forward pass; ``net`` stays the plain module that is evaluated and saved, so its
    # state dict keys are the same with or without DDP and compile.
    model: nn.Module = net
    if ranks.world > 1:
        # _GlobalBatchNorm keeps the buffers equal on every rank: no need to broadcast them each step.
        model = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                        forward_sync_buffers=False)
    if cfg.compile:
        model = torch.compile(model)

    x_train = data.train_x.to(device)
    y_train = data.train_y.to(device)
    t_train = data.train_targets.to(device) if data.train_targets is not None else None
    bar = tqdm(range(first_epoch, cfg.epochs), initial=first_epoch, total=cfg.epochs,
               desc=f"{cfg.method} on {data.name}", disable=not progress, unit="epoch")
    mixes = cfg.mixing or cfg.lt_mixup > 0
    for epoch in bar:
        epoch_start = time.perf_counter()
        _warm_up(opt, sched, cfg, epoch)
        net.train()
        if cfg.prototypes == "learned" and cfg.objective != "cpn":   # CPN's prototypes are not on a sphere
            with torch.no_grad():
                losses.renormalise_(net.protos, _radius(cfg))  # DPNP: back to radius alpha each epoch
        order = torch.randperm(len(x_train), generator=gen).to(device)
        total, seen = torch.zeros((), device=device), 0
        first_bad = torch.full((), math.inf, device=device)  # the first step with a non-finite loss: no sync per step
        for step, start in enumerate(range(0, len(order), cfg.batch_size)):
            idx = order[start:start + cfg.batch_size]
            size = len(idx)
            # Every rank draws for the whole global batch, so all ranks stay on one random stream.
            ra_draws = randaugment.draw(size, gen) if randaugment is not None else None
            cf_draws = crop_flip.draw(size, gen) if crop_flip is not None else None
            lo, hi = ranks.share(size)
            # Mixing pairs each image with its predecessor in the global batch (a roll by one): the
            # slice carries that predecessor along until the mix is done.
            pos = torch.arange(lo - 1 if mixes else lo, hi) % size
            local = idx[pos.to(device)]
            xb, yb = x_train[local], y_train[local]
            tb = t_train[local] if t_train is not None else None
            xb = _augment(xb, data, randaugment, ra_draws[:, pos] if randaugment is not None else None,
                          crop_flip, cf_draws[:, pos] if crop_flip is not None else None)
            target: torch.Tensor = yb
            if cfg.mixing:
                xb, target = mixing.mix_batch(xb, yb, C, generator=gen)
            elif cfg.lt_mixup > 0:
                xb, target = mixing.mixup(xb, yb, C, generator=gen, alpha=cfg.lt_mixup)
            if mixes:
                xb, target = xb[1:], target[1:]
            # Counted over the global batch, so every rank weights a class the same.
            class_weight = losses.batch_class_weights(y_train[idx], C).to(device) if cfg.class_reweight else None
            if prec.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with prec.autocast(device):
                z = model(xb)
            z = z.float()
            P_eff = dynamic.prototypes_for(P) if dynamic is not None else P
            loss = _objective(cfg, net, z, P_eff, target, tb, bounds, class_weight)
            # This rank's part of the global batch's loss. DDP averages gradients over the ranks, so
            # backpropagating world x part gives the one-process gradient of the global batch.
            part = loss if cfg.objective in SUMMED_OBJECTIVES else loss * (len(target) / size)
            opt.zero_grad(set_to_none=True)
            (part * ranks.world).backward()
            opt.step()
            if dynamic is not None:
                # Every rank folds in the whole global batch, so all solve the same assignment.
                dynamic.update(ranks.gather(z.detach(), size), ranks.gather(target, size))
            if centre_means is not None:  # likewise: every rank sums the global batch
                centre_means.add(ranks.gather(z.detach(), size), ranks.gather(target, size))
            # Summed over this rank's images in both reductions, so train_loss is per image for every
            # objective; it stays on the device: no sync per step.
            total += part.detach() if cfg.objective in SUMMED_OBJECTIVES else part.detach() * size
            first_bad = torch.where(torch.isfinite(part.detach()), first_bad, torch.minimum(first_bad, first_bad.new_tensor(step)))
            seen += size
        summed = float(ranks.sum(total))  # the same on every rank: all stop together
        if not math.isfinite(summed):
            where = (f"; the checkpoint of epoch {history[-1]['epoch']} is kept" if ckpt_path and history
                     else "; nothing was saved" if ckpt_path else "")
            step_text = f", step {int(first_bad) + 1}" if math.isfinite(float(first_bad)) else ""
            raise Diverged(f"the loss became non-finite at epoch {epoch + 1}{step_text}, with lr "
                           f"{cfg.lr:g}: lower the learning rate{where}")
        sched.step()
        train_seconds = time.perf_counter() - epoch_start
        row: dict[str, Any] = {"epoch": epoch + 1, "train_loss": summed / seen,
                               "lr": opt.param_groups[0]["lr"], "train_images_per_s": seen / train_seconds}
        if dynamic is not None:
            row["assignment_changed"] = dynamic.solve(P)  # DL2PA: once per epoch (tau' = 1)
        if centre_means is not None:
            centre_means.end_epoch(epoch, net.centres)
        P_eff = dynamic.prototypes_for(P) if dynamic is not None else P
        row.update(evaluate(cfg, net, data.test_x, data.test_y, data.mean, data.std, P_eff, ranks=ranks,
                            values=data.test_targets, bounds=bounds))
        if epoch == cfg.epochs - 1 and cfg.objective not in REGRESSION_OBJECTIVES:
            # DPNP Table IV's reading of SCR (raw vectors, training samples): once, after the last
            # epoch, since it costs an extra pass over the training set.
            row["train_scr_raw"] = train_scr_raw(cfg, net, data, P_eff, ranks=ranks)
        row["epoch_seconds"] = time.perf_counter() - epoch_start
        history.append(row)
        bar.set_postfix(loss_per_image=f"{row['train_loss']:.3f}",
                        **{k[5:]: f"{row[k]:.3f}" for k in ("test_acc", "test_mae") if k in row})
        if ckpt_path and ranks.rank == 0:
            _save_atomic({
                "epoch": epoch, "config": config_json, "history": json.dumps(history),
                "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                "assignment": dynamic.state_dict() if dynamic is not None else {},
            }, ckpt_path)
    bar.close()

    # The best epoch by accuracy; by error for a regression without classes.
    best = (min(history, key=lambda r: r["test_mae"]) if cfg.objective in REGRESSION_OBJECTIVES
            else max(history, key=lambda r: r["test_acc"]))
    results = {
        "config": dataclasses.asdict(cfg),
        "data": {"name": data.name, "source": data.source, "train": len(data.train_y), "test": len(data.test_y),
                 "classes": data.classes, **({"bounds": list(bounds)} if cfg.objective in VALUE_OBJECTIVES else {}),
                 **_word_vector_source(cfg)},
        "history": history,
        "units": HISTORY_UNITS,
        "best": best,
        "final": history[-1],
        "provenance": {**provenance, "wall_seconds": time.perf_counter() - wall_start,
                       "resumed_from_epoch": first_epoch},
    }
    if out_dir and ranks.rank == 0:
        write_atomic(out_dir / "results.json", json.dumps(_strict(results), indent=2, allow_nan=False) + "\n")
    P_eff = dynamic.prototypes_for(P) if dynamic is not None else P
    directions = _class_directions(cfg, net, P_eff)
    return Run(results, net, directions.cpu() if directions is not None else None, data)
