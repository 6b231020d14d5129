"""Image backbones of the four papers, each followed by a linear embedding layer (or, for DPNP's
standard network, none).

:func:`build` returns an :class:`Embedder`: ``backbone`` maps images (B, C, H, W) to features
(B, feature_dim) after global average pooling, ``head`` is a ``Linear(feature_dim, dim)`` that maps
them to raw embeddings (B, dim). Embeddings are not normalised here; the losses in
:mod:`hpnb.losses` normalise where their method does. The head is there for every backbone because
HMPN §4 (Lukashov 2026) adds "a linear layer to each base model to allow for negative embedding
values", which a ReLU-then-pool feature cannot take; HPN's reference maps ResNet-32's 64 features to
d the same way (Mettes et al. 2019), and DPNP's reduced ResNet-18 bottlenecks 256 features to d with
one linear layer (Zarei-Sabzevar & Harati, Fig. 2). DPNP's standard ResNet-18 has no such layer: its
prototypes are the classifier's weights on the 512 pooled features, so ``head="none"`` keeps the
pooled features as the embedding (:func:`hpnb.config.default_head` chooses it for learned prototypes
at the feature width).

Architectures (:data:`ARCHS`):

- ``resnet20``, ``resnet32``, ``resnet56``: the CIFAR ResNets of He et al. 2016 (§4.2), 6n + 2
  layers with n = 3, 5, 9, stages of 16/32/64 channels, option-A (parameter-free zero-padding)
  shortcuts; 64 features. ResNet-32 is HPN's and DL2PA's backbone, ResNet-56 HMPN's on CIFAR-10.
- ``resnet18``, ``resnet34``: torchvision's ResNets (weights=None), 512 features; HMPN uses them on
  CIFAR-100 (upscaled to 64 px) and Tiny ImageNet (64 px). See :func:`build` for the stem.
- ``dpnp-resnet18``: DPNP's "reduced ResNet-18" (§V-B, Fig. 2): ResNet-18 with 256 instead of 512
  filters in the last stage, about 5 M parameters; 256 features.
- ``digits-cnn``: a small CNN for scikit-learn's 8×8 digits, for experiments that must run in
  seconds on a CPU; 128 features.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock

__all__ = ["ARCHS", "STEMS", "MIN_IMAGE_SIZE", "Embedder", "build", "num_parameters"]

from hpnb.config import ARCHS, EMBED_HEADS, FEATURE_DIMS  # noqa: E402 -- the names live where the CLI reads them

# Stems of the torchvision-based ResNets: "cifar" is a 3x3 stride-1 conv without max-pool (total
# stride 8), "imagenet" is torchvision's own 7x7 stride-2 conv plus 3x3 stride-2 max-pool (total
# stride 32).
STEMS = ("cifar", "imagenet")

# Below 8 px the CIFAR ResNets' two stride-2 stages and the digits CNN's pooling leave a feature map
# of a single pixel or less, so nothing spatial is left to learn.
MIN_IMAGE_SIZE = 8
# The ImageNet stem plus four stages divide the image by 32; anything smaller ends below one pixel.
_MIN_IMAGENET_STEM_SIZE = 32
# At and above this size the torchvision ResNets default to the ImageNet stem (see build()).
_IMAGENET_STEM_FROM = 64

_CIFAR_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet56": 56}
_TORCHVISION = ("resnet18", "resnet34", "dpnp-resnet18")


class Embedder(nn.Module):
    """A backbone producing (B, feature_dim) features followed by a linear head to (B, dim), or by
    none (``head="none"``, dim == feature_dim: the pooled features are the embeddings)."""

    def __init__(self, backbone: nn.Module, feature_dim: int, dim: int, head: str = "linear") -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, dim) if head == "linear" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw embeddings (B, dim) of images x (B, C, H, W)."""
        return self.head(self.backbone(x))


class _ZeroPadShortcut(nn.Module):
    """He et al. 2016's option-A shortcut: subsample by the stride, append zero channels.

    It has no parameters, which is what keeps ResNet-20/32/56 at 0.27/0.46/0.85 M parameters. A
    stride-s 1x1 identity conv reads the pixels at multiples of s, and a stride-s 3x3 conv with
    padding 1 gives ceil(H / s) rows, the same count that slicing with step s gives.
    """

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class _CifarBlock(nn.Module):
    """Basic residual block (two 3x3 convs) with an option-A shortcut where the shape changes."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride == 1 and in_planes == planes:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = _ZeroPadShortcut(stride, planes - in_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _CifarResNet(nn.Module):
    """CIFAR ResNet of depth 6n + 2 (He et al. 2016, §4.2), ending in global average pooling."""

    def __init__(self, depth: int, in_channels: int) -> None:
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        blocks = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                blocks.append(_CifarBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        _kaiming_init(self, mode="fan_in")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.blocks(self.stem(x))), 1)


def _digits_cnn(in_channels: int) -> nn.Sequential:
    """Three 3x3 conv-BN-ReLU layers with one 2x2 max-pool: 8x8 digits -> 4x4 maps -> 128 features.

    Small enough (about 93 k parameters) that an epoch over the ~1,400 training digits of
    scikit-learn's load_digits takes seconds on one CPU core.
    """

    def conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
        conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    net = nn.Sequential(
        *conv_bn_relu(in_channels, 32),
        *conv_bn_relu(32, 64),
        nn.MaxPool2d(2),
        *conv_bn_relu(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    _kaiming_init(net, mode="fan_in")
    return net


def _torchvision_resnet(arch: str, in_channels: int, stem: str) -> torchvision.models.ResNet:
    """torchvision's ResNet-18/34 without fc, optionally with the CIFAR stem or DPNP's last stage."""
    constructor = torchvision.models.resnet34 if arch == "resnet34" else torchvision.models.resnet18
    net = constructor(weights=None)
    fresh: list[nn.Module] = []
    if arch == "dpnp-resnet18":
        # DPNP §V-B: "reduce the number of filters in the final convolutional layer from 512 to
        # 256"; the whole last stage gets 256 filters (Fig. 2), giving the paper's ~5 M parameters.
        downsample = nn.Sequential(nn.Conv2d(256, 256, 1, stride=2, bias=False), nn.BatchNorm2d(256))
        net.layer4 = nn.Sequential(
            BasicBlock(256, 256, stride=2, downsample=downsample), BasicBlock(256, 256)
        )
        fresh.append(net.layer4)
    if stem == "cifar":
        net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        fresh.append(net.conv1)
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        fresh.append(net.conv1)
    net.fc = nn.Identity()
    # Replaced layers get the init torchvision gives its own convs, so the whole net stays uniform.
    for module in fresh:
        _kaiming_init(module, mode="fan_out")
    return net


def _kaiming_init(module: nn.Module, mode: str) -> None:
    """He et al. 2015 normal init for convs; BatchNorm to the identity (weight 1, bias 0).

    ``fan_in`` is the forward-variance form of He et al. 2015 Eq. 10, the init He et al. 2016 cite
    for the CIFAR ResNets; ``fan_out`` matches what torchvision's ResNet constructor uses.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build(
    arch: str, dim: int, *, in_channels: int = 3, image_size: int = 32, stem: str | None = None,
    head: str = "linear",
) -> Embedder:
    """Build backbone ``arch`` with a ``Linear(feature_dim, dim)`` embedding head (or none).

    The returned :class:`Embedder` maps float images (B, in_channels, H, W) to raw embeddings
    (B, dim) and exposes ``.backbone``, ``.head`` and ``.feature_dim``. Every backbone ends in
    global average pooling, so ``image_size`` does not fix the input size; it selects the stem of
    the torchvision ResNets and is checked against the smallest size each architecture can use.

    Stem of ``resnet18``, ``resnet34`` and ``dpnp-resnet18`` (``stem=None`` picks by size):

    - ``image_size < 64``: ``"cifar"``, a 3x3 stride-1 conv and no max-pool, the usual CIFAR
      adaptation: 32 px images reach the last stage at 4x4.
    - ``image_size >= 64``: ``"imagenet"``, torchvision's unmodified 7x7 stride-2 conv and max-pool.
      HMPN §4.2 upscales CIFAR-100 to 64x64 for its ResNet-18, and its reference code builds
      ``torchvision.models.resnet18()`` unmodified; with this stem's total stride of 32 the
      upscaling is what keeps the last stage at 2x2 rather than 1x1. §4.3 runs the same network
      (ResNet-34) on Tiny ImageNet's native 64 px images. The other common choice, a 3x3 stride-1
      conv plus max-pool, was rejected: it would run upscaled 64 px images at the resolution of
      native 32 px ones through the 4x more expensive (32x32 instead of 16x16) first stage. Pass
      ``stem="cifar"`` for the full-resolution variant (last stage at 8x8, 16x the multiply-adds).

    Args:
        arch: one of :data:`ARCHS`.
        dim: embedding dimension d (output size of the head), at least 1.
        in_channels: image channels (3 for CIFAR/Tiny ImageNet, 1 for digits), at least 1.
        image_size: side of the (square) training images, at least :data:`MIN_IMAGE_SIZE`, and at
            least 32 with the ImageNet stem.
        stem: ``"cifar"`` or ``"imagenet"`` to override the default; only for the torchvision
            ResNets.
        head: ``"linear"`` (default) or ``"none"``: the pooled features are the embeddings, as in
            DPNP's standard ResNet-18 whose classifier sits on them; then ``dim`` must be the
            backbone's feature width.

    Raises:
        TypeError: ``image_size`` is not an int (e.g. a (height, width) pair).
        ValueError: unknown ``arch``, ``stem`` or ``head``, ``stem`` given for an architecture without
            a choice of stem, ``dim`` or ``in_channels`` below 1, ``image_size`` too small, or
            ``head="none"`` with ``dim`` other than the feature width.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    if dim < 1:
        raise ValueError(f"dim must be at least 1, got {dim}")
    if in_channels < 1:
        raise ValueError(f"in_channels must be at least 1, got {in_channels}")
    if not isinstance(image_size, int):
        # A (height, width) pair would otherwise fail in a bare comparison with an opaque message.
        raise TypeError(f"image_size must be an int, the side of square images; got {image_size!r}")
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size {image_size} is too small for {arch!r}: at least {MIN_IMAGE_SIZE} px is needed "
            "so that the feature map keeps more than one pixel"
        )
    if head not in EMBED_HEADS:
        raise ValueError(f"unknown head {head!r}; known: {', '.join(EMBED_HEADS)}")
    if head == "none" and dim != FEATURE_DIMS[arch]:
        raise ValueError(f"head 'none' keeps {arch}'s {FEATURE_DIMS[arch]} pooled features as the embedding; got dim {dim}")
    if stem is not None and arch not in _TORCHVISION:
        raise ValueError(f"stem applies only to {', '.join(_TORCHVISION)}, not {arch!r}")
    if stem is not None and stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}; known: {', '.join(STEMS)}")

    if arch in _CIFAR_DEPTHS:
        backbone: nn.Module = _CifarResNet(_CIFAR_DEPTHS[arch], in_channels)
    elif arch == "digits-cnn":
        backbone = _digits_cnn(in_channels)
    else:
        stem = stem or ("imagenet" if image_size >= _IMAGENET_STEM_FROM else "cifar")
        if stem == "imagenet" and image_size < _MIN_IMAGENET_STEM_SIZE:
            raise ValueError(
                f"image_size {image_size} is too small for the imagenet stem of {arch!r}: it divides "
                f"the image by 32, so at least {_MIN_IMAGENET_STEM_SIZE} px is needed; use stem='cifar'"
            )
        backbone = _torchvision_resnet(arch, in_channels, stem)
    return Embedder(backbone, FEATURE_DIMS[arch], dim, head)


def num_parameters(model: nn.Module) -> int:
    """Number of scalar parameters of ``model`` (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
