"""Tests for hpnb.models: shapes, stems, parameter counts against published figures, init, learning.

Reference numbers come from outside the code under test: He et al. 2016 Table 6 for the CIFAR
ResNets, torchvision's documented ResNet-18/34 sizes (11,689,512 and 21,797,672 parameters with the
1000-way fc) for the torchvision backbones, DPNP §V-B ("~5 million") for the reduced ResNet-18.
Large networks only run one forward pass on two images.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from hpnb import models as M

# 1000-way ImageNet classifier that torchvision's published sizes include: 512 * 1000 + 1000.
TV_FC = 512 * 1000 + 1000
# 7x7 RGB stem (64 * 3 * 7 * 7) that the CIFAR stem replaces by a 3x3 one (64 * 3 * 3 * 3).
IMAGENET_STEM, CIFAR_STEM = 64 * 3 * 7 * 7, 64 * 3 * 3 * 3

FEATURE_DIMS = {
    "resnet20": 64,
    "resnet32": 64,
    "resnet56": 64,
    "resnet18": 512,
    "resnet34": 512,
    "dpnp-resnet18": 256,
    "digits-cnn": 128,
}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def images(batch: int, channels: int, size: int) -> torch.Tensor:
    return torch.randn(batch, channels, size, size)


def test_archs_are_the_documented_seven() -> None:
    assert set(M.ARCHS) == set(FEATURE_DIMS)
    assert len(M.ARCHS) == len(FEATURE_DIMS)


# (arch, in_channels, image_size): every arch at each size the papers use it at, plus one
# single-channel ResNet.
SHAPE_CASES = [
    ("resnet20", 3, 32),
    ("resnet32", 3, 32),
    ("resnet32", 3, 64),  # HPN / DL2PA on ImageNet-200 (64 px)
    ("resnet56", 3, 32),
    ("resnet18", 3, 32),
    ("resnet18", 3, 64),
    ("resnet18", 1, 32),
    ("resnet34", 3, 32),
    ("resnet34", 3, 64),
    ("dpnp-resnet18", 3, 32),
    ("dpnp-resnet18", 3, 64),
    ("digits-cnn", 1, 8),
]


@pytest.mark.parametrize(("arch", "channels", "size"), SHAPE_CASES)
def test_output_shape_and_head(arch: str, channels: int, size: int) -> None:
    dim = 7
    model = M.build(arch, dim, in_channels=channels, image_size=size).eval()
    x = images(2, channels, size)
    with torch.no_grad():
        features = model.backbone(x)
        out = model(x)
    assert model.feature_dim == FEATURE_DIMS[arch]
    assert features.shape == (2, FEATURE_DIMS[arch])
    assert out.shape == (2, dim) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert isinstance(model.head, nn.Linear)
    assert (model.head.in_features, model.head.out_features) == (FEATURE_DIMS[arch], dim)
    # The model is exactly backbone then head, with no normalisation in between or after.
    torch.testing.assert_close(out, model.head(features))
    assert not torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-3)


# He et al. 2016 Table 6: 0.27 M, 0.46 M, 0.85 M parameters.
@pytest.mark.parametrize(
    ("arch", "expected"), [("resnet20", 0.27e6), ("resnet32", 0.46e6), ("resnet56", 0.85e6)]
)
def test_cifar_resnet_parameter_counts_match_he_et_al(arch: str, expected: float) -> None:
    model = M.build(arch, 10)
    assert abs(M.num_parameters(model.backbone) - expected) / expected < 0.03
    assert M.num_parameters(model.head) == 64 * 10 + 10


def test_resnet20_parameter_count_exact() -> None:
    # Hand count with parameter-free shortcuts: each conv c_in * c_out * 9, each BN 2 * c.
    def conv_bn(cin: int, cout: int) -> int:
        return cin * cout * 9 + 2 * cout

    n = 3
    expected = conv_bn(3, 16)
    expected += 2 * n * conv_bn(16, 16)
    expected += conv_bn(16, 32) + (2 * n - 1) * conv_bn(32, 32)
    expected += conv_bn(32, 64) + (2 * n - 1) * conv_bn(64, 64)
    assert M.num_parameters(M.build("resnet20", 10).backbone) == expected == 269_072


def test_option_a_shortcut_is_parameter_free_zero_padding() -> None:
    backbone = M.build("resnet20", 10).backbone
    blocks = [m for m in backbone.modules() if hasattr(m, "shortcut")]
    assert len(blocks) == 9
    projecting = [b.shortcut for b in blocks if not isinstance(b.shortcut, nn.Identity)]
    assert len(projecting) == 2  # the 16 -> 32 and 32 -> 64 stage transitions
    for shortcut in projecting:
        assert M.num_parameters(shortcut) == 0
    x = torch.randn(2, 16, 5, 5)
    y = projecting[0](x)
    assert y.shape == (2, 32, 3, 3)
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert (y[:, 16:] == 0).all()


def test_torchvision_parameter_counts() -> None:
    # ImageNet stem: torchvision's published size less its fc; CIFAR stem: the 7x7 conv swapped for
    # a 3x3 one, the max-pool has no parameters.
    r18_64 = M.build("resnet18", 512, image_size=64)
    r18_32 = M.build("resnet18", 512, image_size=32)
    r34_64 = M.build("resnet34", 512, image_size=64)
    assert M.num_parameters(r18_64.backbone) == 11_689_512 - TV_FC
    assert M.num_parameters(r18_32.backbone) == 11_689_512 - TV_FC - IMAGENET_STEM + CIFAR_STEM
    assert M.num_parameters(r34_64.backbone) == 21_797_672 - TV_FC
    assert M.num_parameters(r18_64.head) == 512 * 512 + 512


def test_dpnp_reduced_resnet18_size() -> None:
    # DPNP §V-B: 256 filters in the last stage bring ResNet-18 to "less than half (~5 million)".
    reduced = M.num_parameters(M.build("dpnp-resnet18", 10).backbone)
    full = M.num_parameters(M.build("resnet18", 10).backbone)
    assert reduced < full / 2
    assert abs(reduced - 5e6) / 5e6 < 0.1


def _last_stage_map(model: M.Embedder, size: int) -> tuple[int, int]:
    seen: list[torch.Size] = []
    handle = model.backbone.layer4.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.no_grad():
        model.eval()(images(1, 3, size))
    handle.remove()
    return tuple(seen[0][2:])


def test_stem_defaults_by_image_size() -> None:
    cifar = M.build("resnet18", 10, image_size=32).backbone
    assert (cifar.conv1.kernel_size, cifar.conv1.stride) == ((3, 3), (1, 1))
    assert isinstance(cifar.maxpool, nn.Identity)
    imagenet = M.build("resnet18", 10, image_size=64).backbone
    assert (imagenet.conv1.kernel_size, imagenet.conv1.stride) == ((7, 7), (2, 2))
    assert isinstance(imagenet.maxpool, nn.MaxPool2d)


def test_stem_sets_last_stage_resolution() -> None:
    # Total stride 8 with the CIFAR stem, 32 with torchvision's own.
    assert _last_stage_map(M.build("dpnp-resnet18", 10, image_size=32), 32) == (4, 4)
    assert _last_stage_map(M.build("resnet18", 10, image_size=64), 64) == (2, 2)
    assert _last_stage_map(M.build("resnet18", 10, image_size=64, stem="cifar"), 64) == (8, 8)


def test_stem_override_and_channels() -> None:
    model = M.build("resnet18", 10, image_size=32, stem="imagenet", in_channels=1)
    assert model.backbone.conv1.in_channels == 1
    assert model.backbone.conv1.kernel_size == (7, 7)
    assert M.build("resnet18", 10, in_channels=1).backbone.conv1.in_channels == 1


def test_cifar_resnet_uses_kaiming_fan_in_init() -> None:
    backbone = M.build("resnet56", 10).backbone
    # The one 32 -> 64 conv: fan_in (32 * 9) differs from fan_out (64 * 9), so the mode shows.
    convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    (conv,) = [m for m in convs if (m.in_channels, m.out_channels) == (32, 64)]
    # He et al. 2015 Eq. 10: std = sqrt(2 / fan_in); 18,432 weights pin the std to about 0.5%.
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.03)
    assert conv.weight.mean().abs().item() < 0.005


@pytest.mark.parametrize(("arch", "channels", "size"), [("resnet20", 3, 32), ("digits-cnn", 1, 8)])
def test_channels_last_matches_contiguous(arch: str, channels: int, size: int) -> None:
    model = M.build(arch, 5, in_channels=channels, image_size=size).eval()
    x = images(2, channels, size)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last)
        got = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("arch", "channels", "size"), [("resnet20", 3, 32), ("resnet18", 3, 64)])
def test_autocast_runs(arch: str, channels: int, size: int) -> None:
    model = M.build(arch, 5, in_channels=channels, image_size=size).eval()
    x = images(2, channels, size).to(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
    assert out.dtype == torch.bfloat16 and out.shape == (2, 5)
    assert torch.isfinite(out.float()).all()
    # bfloat16 keeps about 3 significant digits; the direction of each embedding must survive.
    assert F.cosine_similarity(out.float(), reference, dim=1).min() > 0.98


def test_digits_cnn_backward_reaches_every_parameter() -> None:
    model = M.build("digits-cnn", 10, in_channels=1, image_size=8)
    model(images(4, 1, 8)).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_digits_cnn_learns_a_fixed_batch() -> None:
    # Pull each of 16 random images toward its class's random unit target with the HPN loss
    # (1 - cos)^2; a network that cannot fit 16 points would leave the loss near its start.
    model = M.build("digits-cnn", 4, in_channels=1, image_size=8)
    x = images(16, 1, 8)
    labels = torch.arange(16) % 4
    targets = F.normalize(torch.randn(4, 4), dim=1)[labels]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss() -> torch.Tensor:
        return (1 - F.cosine_similarity(model(x), targets, dim=1)).pow(2).mean()

    start = loss().item()
    for _ in range(40):
        optimiser.zero_grad()
        value = loss()
        value.backward()
        optimiser.step()
    assert loss().item() < 0.2 * start


def test_num_parameters_counts_every_tensor() -> None:
    assert M.num_parameters(nn.Linear(3, 4)) == 16
    frozen = nn.Linear(3, 4).requires_grad_(False)
    assert M.num_parameters(frozen) == 16


def test_unknown_arch_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown arch") as info:
        M.build("resnet50", 10)
    for arch in M.ARCHS:
        assert arch in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arch": "resnet20", "dim": 0}, "dim"),
        ({"arch": "resnet20", "dim": -3}, "dim"),
        ({"arch": "resnet20", "dim": 8, "in_channels": 0}, "in_channels"),
        ({"arch": "digits-cnn", "dim": 8, "image_size": 4}, "image_size 4"),
        ({"arch": "resnet18", "dim": 8, "image_size": 16, "stem": "imagenet"}, "imagenet stem"),
        ({"arch": "resnet18", "dim": 8, "stem": "vgg"}, "unknown stem"),
        ({"arch": "resnet32", "dim": 8, "stem": "cifar"}, "stem applies only"),
        ({"arch": "resnet32", "dim": 8, "head": "mlp"}, "unknown head"),
        ({"arch": "resnet32", "dim": 8, "head": "none"}, "64 pooled features"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, message: str) -> None:
    arch, dim = kwargs.pop("arch"), kwargs.pop("dim")
    with pytest.raises(ValueError, match=message):
        M.build(arch, dim, **kwargs)


def test_no_head_keeps_the_pooled_features_as_the_embedding() -> None:
    # DPNP's standard ResNet-18: the classifier (its prototypes) sits on the pooled features.
    torch.manual_seed(0)
    net = M.build("resnet20", 64, head="none")
    x = torch.randn(2, 3, 32, 32)
    assert isinstance(net.head, nn.Identity)
    assert torch.equal(net(x), net.backbone(x)) and bool((net(x) >= 0).all())  # ReLU-then-pool: non-negative


def test_image_size_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="image_size must be an int"):
        M.build("resnet20", 8, image_size=(32, 32))  # type: ignore[arg-type]
