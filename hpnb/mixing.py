"""Batch mixing as HMPN trains with it (Lukashov 2026, §4); its RandAugment is in :mod:`hpnb.augment`.

HMPN §4: "For each batch, a random decision is made whether to apply one or the other [CutMix or
MixUp] (with equal probabilities). All other parameters correspond to the current Pytorch defaults",
i.e. ``torchvision.transforms.v2.RandomChoice([CutMix(C), MixUp(C)])`` with alpha = 1. The mixing is
written here on plain tensors rather than through torchvision so that every random draw comes from
one ``torch.Generator``: a run is then reproducible from its seed, on CPU or GPU tensors alike.
The geometry follows torchvision's: each sample is paired with the batch rolled by one, the CutMix
box is centred uniformly and sized from lambda, and the labels are weighted by the area actually
pasted (the box is clipped at the image border).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MODES = ("cutmix", "mixup")


def draw_device(generator: torch.Generator | None) -> torch.device:
    # Random draws must happen on the generator's own device; the images may live elsewhere.
    return generator.device if generator is not None else torch.device("cpu")


def _beta(alpha: float, generator: torch.Generator | None) -> float:
    """One draw of Beta(alpha, alpha) as G1 / (G1 + G2) with G ~ Gamma(alpha, 1).

    ``torch.distributions.Beta`` cannot take a generator; the gamma construction can.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    g = torch._standard_gamma(
        torch.full((2,), float(alpha), dtype=torch.float64, device=draw_device(generator)), generator=generator
    )
    return float(g[0] / (g[0] + g[1]))


def _soft_labels(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    if labels.ndim == 2:  # already soft (e.g. a batch mixed before): keep the class proportions
        if labels.shape[1] != num_classes:
            raise ValueError(f"soft labels have {labels.shape[1]} classes, expected {num_classes}")
        return labels.to(dtype)
    return F.one_hot(labels.long(), num_classes).to(dtype)


def _check(images: torch.Tensor, labels: torch.Tensor) -> None:
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")


def _label_dtype(images: torch.Tensor) -> torch.dtype:
    return images.dtype if images.is_floating_point() else torch.float32


def cutmix(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    generator: torch.Generator | None = None,
    alpha: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix (Yun et al. 2019) with torchvision's box and label rule, against the batch rolled by one.

    Returns the mixed images (same dtype and device) and soft labels (N, num_classes) whose weight on
    the rolled sample's class is the pasted box area divided by H * W.
    """
    _check(images, labels)
    H, W = images.shape[-2:]
    lam = _beta(alpha, generator)
    dev = draw_device(generator)
    r_x = int(torch.randint(W, (1,), generator=generator, device=dev))
    r_y = int(torch.randint(H, (1,), generator=generator, device=dev))
    # Box side sqrt(1 - lam) of the image, centred at (r_x, r_y), clipped at the border.
    r = 0.5 * math.sqrt(1.0 - lam)
    half_w, half_h = int(r * W), int(r * H)
    x1, x2 = max(r_x - half_w, 0), min(r_x + half_w, W)
    y1, y2 = max(r_y - half_h, 0), min(r_y + half_h, H)
    out = images.clone()
    out[..., y1:y2, x1:x2] = images.roll(1, 0)[..., y1:y2, x1:x2]
    # Clipping shrinks the box, so the labels follow the area really pasted, not lam.
    lam_area = 1.0 - (x2 - x1) * (y2 - y1) / (W * H)
    soft = _soft_labels(labels, num_classes, _label_dtype(images)).to(images.device)
    return out, lam_area * soft + (1.0 - lam_area) * soft.roll(1, 0)


def mixup(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    generator: torch.Generator | None = None,
    alpha: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MixUp (Zhang et al. 2018): x = lam x + (1 - lam) x_rolled, lam ~ Beta(alpha, alpha).

    Integer images are mixed in float and rounded back to their dtype (torchvision's in-place
    arithmetic would truncate them).
    """
    _check(images, labels)
    lam = _beta(alpha, generator)
    x = images if images.is_floating_point() else images.float()
    out = lam * x + (1.0 - lam) * x.roll(1, 0)
    if not images.is_floating_point():
        info = torch.iinfo(images.dtype)
        out = out.round().clamp(info.min, info.max).to(images.dtype)
    soft = _soft_labels(labels, num_classes, _label_dtype(images)).to(images.device)
    return out, lam * soft + (1.0 - lam) * soft.roll(1, 0)


def mix_batch(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    generator: torch.Generator | None = None,
    alpha: float = 1.0,
    *,
    mode: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """HMPN's batch mixing (§4): CutMix or MixUp, chosen with equal probability per batch.

    Args:
        images: (N, C, H, W), float or integer, any device.
        labels: (N,) class indices, or (N, num_classes) soft labels.
        num_classes: C of the soft labels.
        generator: source of every random draw (choice, lambda, box), for reproducible runs.
        alpha: Beta(alpha, alpha) parameter of lambda (torchvision's default 1: lambda uniform).
        mode: ``"cutmix"`` or ``"mixup"`` forces one; ``None`` draws it (HMPN).

    Returns:
        (mixed images like ``images``, soft labels (N, num_classes) summing to 1 per row).
    """
    if mode is None:
        # One uniform draw, like RandomChoice's equal-probability pick among the two transforms.
        u = float(torch.rand((), generator=generator, device=draw_device(generator)))
        mode = MODES[0] if u < 0.5 else MODES[1]
    if mode == "cutmix":
        return cutmix(images, labels, num_classes, generator, alpha)
    if mode == "mixup":
        return mixup(images, labels, num_classes, generator, alpha)
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)} or None")
