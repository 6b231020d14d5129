"""Per-batch image augmentation on whole tensors, on whatever device the images live.

Every random number comes from a ``torch.Generator`` and is drawn for a whole batch by ``draw``;
``apply`` then transforms any selection of that batch's images with the matching columns of the
draws. A run is so reproducible from its seed and resumes exactly, and under DDP every rank draws
the same numbers for the global batch and augments only its own slice.

:class:`RandAugment` is torchvision's ``v2.RandAugment`` (same 14 operations, magnitudes, signs,
nearest interpolation and zero fill), with each image drawing its own operations, but batched: the
images that drew the same (operation, sign) in a round go through one call of
``torchvision.transforms.v2.functional`` together, instead of one call per image.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from hpnb.mixing import draw_device

# torchvision 0.29's v2.RandAugment._AUGMENTATION_SPACE: name -> (magnitudes(num_bins, H, W) or
# None, signed). Kept here rather than read from that private table; tests/test_augment.py checks
# that the two agree.
_Magnitudes = Callable[[int, int, int], "torch.Tensor | None"]
OPS: dict[str, tuple[_Magnitudes, bool]] = {
    "Identity": (lambda bins, h, w: None, False),
    "ShearX": (lambda bins, h, w: torch.linspace(0.0, 0.3, bins), True),
    "ShearY": (lambda bins, h, w: torch.linspace(0.0, 0.3, bins), True),
    "TranslateX": (lambda bins, h, w: torch.linspace(0.0, 150.0 / 331.0 * w, bins), True),
    "TranslateY": (lambda bins, h, w: torch.linspace(0.0, 150.0 / 331.0 * h, bins), True),
    "Rotate": (lambda bins, h, w: torch.linspace(0.0, 30.0, bins), True),
    "Brightness": (lambda bins, h, w: torch.linspace(0.0, 0.9, bins), True),
    "Color": (lambda bins, h, w: torch.linspace(0.0, 0.9, bins), True),
    "Contrast": (lambda bins, h, w: torch.linspace(0.0, 0.9, bins), True),
    "Sharpness": (lambda bins, h, w: torch.linspace(0.0, 0.9, bins), True),
    "Posterize": (lambda bins, h, w: (8 - (torch.arange(bins) / ((bins - 1) / 4))).round().int(), False),
    "Solarize": (lambda bins, h, w: torch.linspace(1.0, 0.0, bins), False),
    "AutoContrast": (lambda bins, h, w: None, False),
    "Equalize": (lambda bins, h, w: None, False),
}
_NEAREST = InterpolationMode.NEAREST


def _check_images(images: torch.Tensor, draws: torch.Tensor, rows: int) -> None:
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if draws.shape != (rows, len(images)):
        raise ValueError(f"draws must be ({rows}, {len(images)}) for these images, got {tuple(draws.shape)}")


class RandAugment:
    """torchvision's ``v2.RandAugment(num_ops, magnitude, num_magnitude_bins)`` for uint8 batches.

    Per image and round, an operation is drawn uniformly among :data:`OPS` and a signed one is
    negated with probability 1/2, as torchvision does per call. HMPN §4 uses (3, 9, 31).
    """

    def __init__(self, num_ops: int = 3, magnitude: int = 9, num_magnitude_bins: int = 31):
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"num_ops must be a non-negative integer, got {num_ops!r}")
        if not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"magnitude must lie in [0, {num_magnitude_bins}), got {magnitude}")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.names = tuple(OPS)
        self._signed = torch.tensor([signed for _, signed in OPS.values()])

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(num_ops, n) codes ``2 * op + negated`` on the generator's device, one column per image."""
        device = draw_device(generator)
        ops = torch.randint(len(OPS), (self.num_ops, n), generator=generator, device=device)
        negated = torch.rand((self.num_ops, n), generator=generator, device=device) <= 0.5
        return 2 * ops + (negated & self._signed.to(device)[ops])

    def apply(self, images: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
        """Apply ``draws`` (from :meth:`draw`, one column per image) to uint8 images (N, C, H, W)."""
        _check_images(images, draws, self.num_ops)
        if images.dtype != torch.uint8:
            raise TypeError(f"RandAugment expects uint8 images, got {images.dtype}")
        H, W = images.shape[-2:]
        # The grouping is planned on the host: one small transfer per batch, no sync per image.
        for codes in draws.cpu():
            counts = torch.bincount(codes, minlength=2 * len(OPS)).tolist()
            order = torch.argsort(codes, stable=True).to(images.device)
            present = [code for code, count in enumerate(counts) if count]
            groups = images[order].split([counts[code] for code in present])
            done = torch.cat([self._op(group, code, H, W) for code, group in zip(present, groups)])
            images = torch.empty_like(images).index_copy_(0, order, done)
        return images

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.apply(images, self.draw(len(images), generator))

    def _op(self, images: torch.Tensor, code: int, H: int, W: int) -> torch.Tensor:
        """torchvision's ``_AutoAugmentBase._apply_image_or_video_transform``, on a sub-batch."""
        name = self.names[code // 2]
        magnitudes = OPS[name][0](self.num_magnitude_bins, H, W)
        m = 0.0 if magnitudes is None else float(magnitudes[self.magnitude])
        if code % 2:
            m = -m
        if name == "Identity":
            return images
        if name in ("ShearX", "ShearY"):
            shear = math.degrees(math.atan(m))
            return TF.affine(images, angle=0.0, translate=[0, 0], scale=1.0,
                             shear=[shear, 0.0] if name == "ShearX" else [0.0, shear],
                             interpolation=_NEAREST, fill=None, center=[0, 0])
        if name in ("TranslateX", "TranslateY"):
            return TF.affine(images, angle=0.0, translate=[int(m), 0] if name == "TranslateX" else [0, int(m)],
                             scale=1.0, shear=[0.0, 0.0], interpolation=_NEAREST, fill=None)
        if name == "Rotate":
            return TF.rotate(images, angle=m, interpolation=_NEAREST, fill=None)
        if name == "Brightness":
            return TF.adjust_brightness(images, brightness_factor=1.0 + m)
        if name == "Color":
            return TF.adjust_saturation(images, saturation_factor=1.0 + m)
        if name == "Contrast":
            return TF.adjust_contrast(images, contrast_factor=1.0 + m)
        if name == "Sharpness":
            return TF.adjust_sharpness(images, sharpness_factor=1.0 + m)
        if name == "Posterize":
            return TF.posterize(images, bits=int(m))
        if name == "Solarize":
            return TF.solarize(images, threshold=255 * m)  # torchvision: the dtype's maximum times m
        if name == "AutoContrast":
            return TF.autocontrast(images)
        return TF.equalize(images)


class CropFlip:
    """Random crop of a ``pad``-padded image (zero padding) and horizontal flip with probability 1/2."""

    def __init__(self, pad: int = 4):
        if pad < 0:
            raise ValueError(f"pad must be >= 0, got {pad}")
        self.pad = pad

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(3, n): row and column offsets in [0, 2 pad], and 1 where the image is flipped."""
        device = draw_device(generator)
        shifts = torch.randint(0, 2 * self.pad + 1, (2, n), generator=generator, device=device)
        flip = torch.rand(n, generator=generator, device=device) < 0.5
        return torch.cat([shifts, flip[None].long()])

    def apply(self, images: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
        """Crop and flip images (N, C, H, W) of any dtype by ``draws`` (from :meth:`draw`)."""
        _check_images(images, draws, 3)
        B, _, H, W = images.shape
        draws = draws.to(images.device)
        pad = self.pad
        padded = F.pad(images, (pad, pad, pad, pad))
        rows = (draws[0][:, None] + torch.arange(H, device=images.device))[:, :, None]
        cols = (draws[1][:, None] + torch.arange(W, device=images.device))[:, None, :]
        cols = torch.where(draws[2].bool()[:, None, None], cols.flip(2), cols)
        batch = torch.arange(B, device=images.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.apply(images, self.draw(len(images), generator))
