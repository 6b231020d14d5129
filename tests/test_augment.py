"""Batched augmentation: torchvision's RandAugment image by image, drawn from a generator, sliceable."""

import time

import pytest
import torch
from torchvision.transforms import v2

from hpnb import augment

# torchvision's own table and per-image transform are the reference (private, but pinned with torch).
TV = v2.RandAugment(num_ops=3, magnitude=9, num_magnitude_bins=31)


def _images(n: int, c: int, side: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, side, side), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _torchvision_one(img: torch.Tensor, code: int) -> torch.Tensor:
    """torchvision's transform of one image for a drawn code (op and sign), magnitudes from its table."""
    name = list(TV._AUGMENTATION_SPACE)[code // 2]
    magnitudes_fn, _ = TV._AUGMENTATION_SPACE[name]
    magnitudes = magnitudes_fn(TV.num_magnitude_bins, *img.shape[-2:])
    m = 0.0 if magnitudes is None else float(magnitudes[TV.magnitude])
    return TV._apply_image_or_video_transform(img, name, -m if code % 2 else m,
                                              interpolation=TV.interpolation, fill=TV._fill)


def test_operations_match_torchvision():
    assert tuple(augment.OPS) == tuple(TV._AUGMENTATION_SPACE)
    for name, (fn, signed) in augment.OPS.items():
        tv_fn, tv_signed = TV._AUGMENTATION_SPACE[name]
        assert signed == tv_signed, name
        ours, theirs = fn(31, 24, 40), tv_fn(31, 24, 40)
        assert (ours is None and theirs is None) or torch.equal(ours, theirs), name


@pytest.mark.parametrize("channels,side", [(1, 8), (3, 32)])
def test_each_drawn_op_equals_torchvision_image_by_image(channels, side):
    ra = augment.RandAugment(num_ops=1)
    images = _images(12, channels, side)
    for code in range(2 * len(augment.OPS)):
        if code % 2 and not augment.OPS[ra.names[code // 2]][1]:
            continue  # unsigned operations are never negated
        batched = ra.apply(images, torch.full((1, len(images)), code))
        expected = torch.stack([_torchvision_one(img, code) for img in images])
        assert torch.equal(batched, expected), ra.names[code // 2]


@pytest.mark.parametrize("channels,side", [(1, 8), (3, 32)])
def test_mixed_draws_equal_torchvision_image_by_image(channels, side):
    ra = augment.RandAugment()
    images = _images(64, channels, side, seed=1)
    draws = ra.draw(len(images), torch.Generator().manual_seed(3))
    assert len(torch.unique(draws[0])) > 10  # the rounds really mix many groups
    out = ra.apply(images, draws)
    for i, img in enumerate(images):
        for code in draws[:, i].tolist():
            img = _torchvision_one(img, code)
        assert torch.equal(out[i], img), i


def test_operation_and_sign_distribution():
    ra = augment.RandAugment()
    draws = ra.draw(20000, torch.Generator().manual_seed(0)).flatten()
    ops, negated = draws // 2, draws % 2 == 1
    counts = torch.bincount(ops, minlength=len(augment.OPS)).double()
    expected = len(draws) / len(augment.OPS)
    # Binomial standard deviation is about 64 here: 5 of them bound a uniform draw.
    assert (counts - expected).abs().max() < 5 * (expected * (1 - 1 / len(augment.OPS))) ** 0.5, counts
    signed = torch.tensor([s for _, s in augment.OPS.values()])[ops]
    assert not negated[~signed].any()
    assert abs(negated[signed].double().mean().item() - 0.5) < 0.02


def test_deterministic_per_generator_and_sliceable():
    ra = augment.RandAugment()
    images = _images(40, 3, 16)
    a = ra(images, torch.Generator().manual_seed(5))
    b = ra(images, torch.Generator().manual_seed(5))
    c = ra(images, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # A DDP rank augments its slice with the global batch's draws: the slice of the whole.
    draws = ra.draw(len(images), torch.Generator().manual_seed(5))
    pos = torch.tensor([39, 0, 1, 2, 3, 17])
    assert torch.equal(ra.apply(images[pos], draws[:, pos]), ra.apply(images, draws)[pos])


def test_crop_flip_geometry_and_slicing():
    images = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).view(2, 1, 4, 5)
    cf = augment.CropFlip(pad=2)
    centred = torch.tensor([[2, 2], [2, 2], [0, 1]])  # no shift; the second image flipped
    out = cf.apply(images, centred)
    assert torch.equal(out[0], images[0]) and torch.equal(out[1], images[1].flip(-1))
    shifted = cf.apply(images, torch.tensor([[0, 4], [0, 4], [0, 0]]))  # image 0 at the top-left corner
    assert (shifted[0, 0, :2] == 0).all() and torch.equal(shifted[0, 0, 2:, 2:], images[0, 0, :2, :3])
    many = torch.rand(10, 3, 8, 8)
    draws = cf.draw(10, torch.Generator().manual_seed(1))
    pos = torch.tensor([9, 0, 1, 2])
    assert torch.equal(cf.apply(many[pos], draws[:, pos]), cf.apply(many, draws)[pos])


def test_bad_inputs_raise():
    ra = augment.RandAugment()
    with pytest.raises(TypeError, match="uint8"):
        ra.apply(torch.rand(2, 3, 8, 8), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="draws must be"):
        ra.apply(_images(2, 3, 8), torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="magnitude"):
        augment.RandAugment(magnitude=31)


def test_batched_is_faster_than_the_per_image_loop():
    images = _images(256, 3, 32)
    ra = augment.RandAugment()
    gen = torch.Generator().manual_seed(0)

    def rate(fn) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return len(images) / best

    per_image = rate(lambda: torch.stack([TV(img) for img in images]))
    batched = rate(lambda: ra(images, gen))
    print(f"\nRandAugment(3, 9, 31) on 3x32x32 uint8, CPU, {torch.get_num_threads()} thread(s): "
          f"per image {per_image:.0f} images/s, batched {batched:.0f} images/s ({batched / per_image:.1f}x)")
    # Timings on a shared machine are noisy; the batched path wins by several times, so 1x is safe.
    assert batched > per_image
