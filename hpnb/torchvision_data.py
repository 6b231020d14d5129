"""SVHN, STL-10 and Flowers-102, read and downloaded through torchvision's dataset classes.

:func:`hpnb.data.load` hands the specs ``svhn[:DIR]``, ``stl10[:DIR]`` and ``flowers102[:DIR]`` to
:func:`load` (DIR defaults to ``data_dir()/<name>``). DIR is the ``root`` of torchvision's class, so
its layout is torchvision's:

- ``svhn``: ``DIR/train_32x32.mat`` and ``DIR/test_32x32.mat`` (``torchvision.datasets.SVHN``): the
  official train (73,257) and test (26,032) splits, 32x32; ``extra`` is not used. SVHN labels the
  digit 0 as 10; torchvision maps it to 0, so the classes are ``"0"`` .. ``"9"``.
- ``stl10``: ``DIR/stl10_binary/`` with ``train_X.bin``, ``train_y.bin``, ``test_X.bin``,
  ``test_y.bin`` and ``class_names.txt`` (``torchvision.datasets.STL10``): the labelled train
  (5,000) and test (8,000) splits, 96x96; the 100,000 unlabelled images and the folds are not used.
- ``flowers102``: ``DIR/flowers-102/`` with ``jpg/image_NNNNN.jpg``, ``imagelabels.mat`` and
  ``setid.mat`` (``torchvision.datasets.Flowers102``): train = the official ``trnid`` split (1,020
  images, 10 a class), test = ``tstid`` (6,149); ``valid`` is not used, since DPNP, the paper that
  trains on Flower-102, names no split. Each image is resized so that its shorter side is
  :data:`FLOWERS102_SIZE` (224; DPNP gives no size, and 224 is its ImageNet-pretrained ResNet-18's)
  and centre-cropped to a square (bilinear, antialiased), keeping the flower's aspect ratio.

Download policy, as for the official CIFAR and Tiny ImageNet archives: what DIR lacks is downloaded
by torchvision, which checks its md5, into a temporary folder inside DIR, and moved into place only
once complete (a missing SVHN file alone, or the whole ``stl10_binary/`` or ``flowers-102/``
folder). An STL-10 archive already in DIR is md5-checked and extracted instead of downloaded again
(a bad one is moved aside to ``*.corrupt``, as hpnb.data does). A folder that exists but lacks files
is never downloaded over: the error names the missing file. When the download fails (offline),
the error is one line saying which files torchvision expects in which folder.

Integrity of user-supplied folders: every file that torchvision lists an md5 for and hpnb reads is
checked against that md5 (torchvision's own tables, read at call time) before its first decode:
both SVHN ``.mat`` files, STL-10's four labelled ``.bin`` files (not the 2.7 GB ``unlabeled_X.bin``,
which the labelled splits never read, so torchvision's own check that hashes it is narrowed) and
Flowers-102's two ``.mat`` files. Flowers-102's images have no per-file md5 (torchvision has only the
tgz's, checked when it downloads), so a truncated JPEG shows up as a decoding error instead. The
decoded tensors are cached like every other dataset, keyed by file sizes, mtimes and the expected
md5s, so unchanged files are hashed only once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torchvision
from torchvision import datasets as tvd
from torchvision.datasets.utils import calculate_md5, check_integrity

from hpnb.data import (
    _CACHE_VERSION, DataError, ImageData, _cache_path, _load_cache, _save_cache, _verify_md5, channel_stats,
)

FLOWERS102_SIZE = 224
SVHN_CLASSES = tuple(str(d) for d in range(10))
STL10_FOLDER = "stl10_binary"
STL10_FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
FLOWERS102_FOLDER = "flowers-102"
_SPLITS = ("train", "test")


# --------------------------------------------------------------------------------------------
# Shared: download into a temporary folder, open a torchvision dataset, fingerprint, cache


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def _download(kind: str, directory: Path, target: str, url: str, fetch: Callable[[Path], None], offline: str) -> None:
    """Have torchvision download into a temp folder in ``directory`` (``fetch(tmp)``), then move
    ``tmp/target`` to ``directory/target``: an interrupted or failed download leaves nothing behind
    that a later load could take for the complete file or folder."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory, prefix=f".{kind}-download-"))
    try:
        try:
            fetch(tmp)
        except DataError:
            raise
        except Exception as e:  # urllib, http, tarfile, md5 (RuntimeError), scipy: none leaves usable files
            raise DataError(
                f"{kind}: {directory / target} not found and torchvision could not download it from {url} "
                f"({_one_line(e)}); offline, put {offline}"
            ) from None
        try:
            os.rename(tmp / target, directory / target)
        except OSError:
            if not (directory / target).exists():  # else another load finished the same download first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _open(kind: str, make: Callable[[], Any], checked: Sequence[tuple[Path, str]], redo: str) -> Any:
    """``make()`` (a torchvision dataset with download=False) with its errors as one-line DataErrors.

    torchvision raises a bare "Dataset not found or corrupted" when an md5 differs; the files were
    found, so the one whose md5 differs is named (hashing them again only on this failure path).
    ``redo`` says what to delete for hpnb to download afresh.
    """
    try:
        return make()
    except DataError:
        raise
    except RuntimeError as e:
        for path, expected in checked:
            got = calculate_md5(path) if path.is_file() else "(missing)"
            if got != expected:
                raise DataError(
                    f"{kind}: checksum mismatch for {path}: md5 {got}, expected {expected} (torchvision's); the "
                    f"file is corrupt, partly copied or a different release, so it was not used: replace it with "
                    f"the official file, or delete {redo} and hpnb downloads it again"
                ) from None
        raise DataError(f"{kind}: torchvision refused {checked[0][0].parent} ({_one_line(e)})") from None
    except Exception as e:  # a damaged .mat or .bin: scipy and numpy raise nearly anything
        where = ", ".join(str(p) for p, _ in checked)
        raise DataError(f"{kind}: cannot read {where} (corrupt, or not the official files?): {_one_line(e)}") from None


def _stat(path: Path, base: Path, md5: str | None = None) -> list:
    st = path.stat()
    return [path.relative_to(base).as_posix(), st.st_size, st.st_mtime_ns, md5]


def _uint8_images(kind: str, data: np.ndarray, labels: np.ndarray, side: int, num_classes: int, where: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's (N, 3, side, side) uint8 array and N labels as tensors, after checking both."""
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (3, side, side):
        raise DataError(
            f"{kind}: {where} holds {data.dtype} images of shape {data.shape[1:]}, not uint8 3x{side}x{side}"
        )
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(data):
        raise DataError(f"{kind}: {where} has {len(data)} images but {len(labels)} labels")
    if len(labels) and not (0 <= labels.min() and labels.max() < num_classes):
        raise DataError(f"{kind}: {where} has labels outside 0..{num_classes - 1} (after torchvision's mapping)")
    return torch.from_numpy(np.ascontiguousarray(data)), torch.from_numpy(labels)


def _finish(kind: str, cache: Path, key: dict, splits: dict[str, tuple[torch.Tensor, torch.Tensor]],
            classes: Sequence[str], source: str) -> ImageData:
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    mean, std = channel_stats(train_x)
    data = ImageData(train_x, train_y, test_x, test_y, list(classes), mean, std, kind, source)
    _save_cache(cache, key, data)
    return data


# --------------------------------------------------------------------------------------------
# SVHN


def _load_svhn(directory: Path, root: Path, progress: bool) -> ImageData:
    table = {split: tvd.SVHN.split_list[split] for split in _SPLITS}  # [url, filename, md5]
    offline = (f"torchvision.datasets.SVHN's files {' and '.join(t[1] for t in table.values())} (the official "
               f"ones, from {table['train'][0].rsplit('/', 1)[0]}/) in {directory}")
    for split, (url, name, _) in table.items():
        if not (directory / name).is_file():  # each file is its own download, as torchvision does it
            _download("svhn", directory, name, url,
                      lambda tmp, split=split: tvd.SVHN(str(tmp), split=split, download=True), offline)
    key = {"version": _CACHE_VERSION, "kind": "svhn", "path": str(directory),
           "files": [_stat(directory / name, directory, md5) for _, name, md5 in table.values()]}
    cache = _cache_path(root, "svhn", key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return cached
    splits = {}
    for split, (_, name, md5) in table.items():
        path = directory / name
        ds = _open("svhn", lambda: tvd.SVHN(str(directory), split=split), [(path, md5)], "it")
        splits[split] = _uint8_images("svhn", ds.data, ds.labels, 32, 10, str(path))
    source = (f"SVHN via torchvision.datasets.SVHN (torchvision {torchvision.__version__}): {directory} "
              f"train_32x32.mat ({len(splits['train'][1])} images) and test_32x32.mat ({len(splits['test'][1])}), "
              f"md5 as torchvision lists them; label 10 (digit 0) read as 0; the extra split unused")
    return _finish("svhn", cache, key, splits, SVHN_CLASSES, source)


# --------------------------------------------------------------------------------------------
# STL-10


def _stl10_md5s() -> dict[str, str]:
    """torchvision's md5 of each labelled file (read at call time: tests substitute their fixtures')."""
    listed = dict(map(tuple, tvd.STL10.train_list + tvd.STL10.test_list))
    return {name: listed[name] for name in STL10_FILES}


class _LabelledSTL10(tvd.STL10):
    """torchvision's STL10 whose integrity check covers the four labelled files only.

    STL10's own check also hashes ``unlabeled_X.bin`` (2.7 GB), which the train and test splits
    never read, and refuses a folder without it; the labelled files keep torchvision's md5 check.
    """

    def _check_integrity(self) -> bool:
        folder = os.path.join(self.root, self.base_folder)
        return all(check_integrity(os.path.join(folder, n), md5) for n, md5 in _stl10_md5s().items())


def _fetch_stl10(directory: Path, tmp: Path) -> None:
    archive = directory / tvd.STL10.filename
    if archive.is_file():
        # An archive already here is used, not downloaded again: checked first (moved aside to
        # *.corrupt if bad, as for CIFAR), then linked in, where torchvision finds it verified.
        _verify_md5(archive, tvd.STL10.tgz_md5)
        os.symlink(archive, tmp / archive.name)
    _LabelledSTL10(str(tmp), split="test", download=True)  # downloads, checks the md5, extracts
    if not (tmp / archive.name).is_symlink():
        os.replace(tmp / archive.name, archive)  # kept beside the folder, like the CIFAR archives


def _load_stl10(directory: Path, root: Path, progress: bool) -> ImageData:
    folder = directory / STL10_FOLDER
    if not folder.is_dir():
        _download("stl10", directory, STL10_FOLDER, tvd.STL10.url,
                  lambda tmp: _fetch_stl10(directory, tmp),
                  f"torchvision.datasets.STL10's archive {tvd.STL10.filename} (the official one, "
                  f"{tvd.STL10.url}) in {directory}, or its extracted {STL10_FOLDER}/ folder with "
                  f"{', '.join(STL10_FILES)} and class_names.txt")
    md5s = _stl10_md5s()
    for name in (*STL10_FILES, "class_names.txt"):
        if not (folder / name).is_file():
            raise DataError(
                f"stl10: {folder / name} is missing; {folder} must hold {', '.join(STL10_FILES)} and "
                f"class_names.txt, as torchvision.datasets.STL10 reads them (delete the folder and hpnb downloads "
                f"and extracts {tvd.STL10.filename} again)"
            )
    key = {"version": _CACHE_VERSION, "kind": "stl10", "path": str(folder),
           "files": [_stat(folder / n, folder, md5s.get(n)) for n in (*STL10_FILES, "class_names.txt")]}
    cache = _cache_path(root, "stl10", key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return cached
    checked = [(folder / n, md5) for n, md5 in md5s.items()]
    splits, classes = {}, []
    for split in _SPLITS:
        ds = _open("stl10", lambda: _LabelledSTL10(str(directory), split=split), checked, f"{folder}/")
        splits[split] = _uint8_images("stl10", ds.data, ds.labels, 96, 10, f"{folder}/{split}_X.bin")
        classes = [c.strip() for c in getattr(ds, "classes", []) if c.strip()]
    if len(classes) != 10:
        raise DataError(f"stl10: {folder / 'class_names.txt'} must name the 10 classes, one a line")
    source = (f"STL-10 labelled splits via torchvision.datasets.STL10 (torchvision {torchvision.__version__}): "
              f"{folder} train_X/train_y.bin ({len(splits['train'][1])} images) and test_X/test_y.bin "
              f"({len(splits['test'][1])}), md5 as torchvision lists them; the unlabelled images and folds unused")
    return _finish("stl10", cache, key, splits, classes, source)


# --------------------------------------------------------------------------------------------
# Flowers-102


def _resize_crop(img: Any, size: int) -> torch.Tensor:
    """A PIL RGB image as a (3, size, size) uint8 tensor: shorter side to ``size``, centre crop."""
    from torchvision.transforms.v2 import functional as TF

    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
    return TF.center_crop(TF.resize(x, [size], antialias=True), [size, size])


def _flowers_loader(base: Path, size: int) -> Callable[[Any], torch.Tensor]:
    from PIL import Image

    def load(path: Any) -> torch.Tensor:
        try:
            with Image.open(path) as im:
                return _resize_crop(im.convert("RGB"), size)
        except FileNotFoundError:
            raise DataError(
                f"flowers102: {path} is missing (setid.mat lists it); {base / 'jpg'} must hold the 8,189 images "
                f"of the official 102flowers.tgz, image_00001.jpg to image_08189.jpg"
            ) from None
        except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, ... on bad files
            raise DataError(f"flowers102: cannot decode image {path}: {_one_line(e)}") from None

    return load


def _load_flowers102(directory: Path, root: Path, progress: bool) -> ImageData:
    from tqdm.auto import tqdm

    base = directory / FLOWERS102_FOLDER
    files = tvd.Flowers102._file_dict  # id -> (filename, md5); read at call time (tests substitute)
    prefix = tvd.Flowers102._download_url_prefix
    needs = (f"jpg/ (the official {files['image'][0]} extracted: jpg/image_00001.jpg to image_08189.jpg), "
             f"{files['label'][0]} and {files['setid'][0]} (from {prefix}) in {base}/, as "
             f"torchvision.datasets.Flowers102 reads them")
    if not base.is_dir():
        _download("flowers102", directory, FLOWERS102_FOLDER, prefix + files["image"][0],
                  lambda tmp: tvd.Flowers102(str(tmp), split="test", download=True), needs)
    mats = [(base / files[k][0], files[k][1]) for k in ("label", "setid")]
    for path in [base / "jpg", *(p for p, _ in mats)]:
        if not path.exists():
            raise DataError(
                f"flowers102: {path} is missing; put {needs} (delete the folder and hpnb downloads it again)"
            )
    images = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(base / "jpg")
                    if e.name.lower().endswith(".jpg"))
    key = {"version": _CACHE_VERSION, "kind": "flowers102", "path": str(base), "size": FLOWERS102_SIZE,
           "files": [_stat(p, base, md5) for p, md5 in mats], "images": images}
    cache = _cache_path(root, "flowers102", key)
    cached = _load_cache(cache, key)
    if cached is not None:
        return cached
    loader = _flowers_loader(base, FLOWERS102_SIZE)
    splits = {}
    for split in _SPLITS:
        ds = _open("flowers102", lambda: tvd.Flowers102(str(directory), split=split, loader=loader), mats,
                   f"{base}/")
        if len(ds) == 0:
            raise DataError(f"flowers102: {base / files['setid'][0]} lists no {split} images")
        x = torch.empty((len(ds), 3, FLOWERS102_SIZE, FLOWERS102_SIZE), dtype=torch.uint8)
        y = torch.empty(len(ds), dtype=torch.long)
        for i in tqdm(range(len(ds)), desc=f"decoding flowers102 {split}", unit="img", disable=not progress):
            x[i], label = ds[i]
            y[i] = int(label)
        if not (0 <= int(y.min()) and int(y.max()) < len(tvd.Flowers102.classes)):
            raise DataError(f"flowers102: {mats[0][0]} has labels outside 1..{len(tvd.Flowers102.classes)}")
        splits[split] = (x, y)
    source = (f"Flowers-102 via torchvision.datasets.Flowers102 (torchvision {torchvision.__version__}): {base}, "
              f"train = the official trnid split ({len(splits['train'][1])} images), test = tstid "
              f"({len(splits['test'][1])}), valid unused; .mat md5 as torchvision lists them (the JPEGs have none); "
              f"each image resized to shorter side {FLOWERS102_SIZE} and centre-cropped to "
              f"{FLOWERS102_SIZE}x{FLOWERS102_SIZE} (bilinear, antialiased)")
    return _finish("flowers102", cache, key, splits, tvd.Flowers102.classes, source)


_LOADERS: dict[str, Callable[[Path, Path, bool], ImageData]] = {
    "svhn": _load_svhn, "stl10": _load_stl10, "flowers102": _load_flowers102,
}


def load(kind: str, directory: Path, root: Path, progress: bool = True) -> ImageData:
    """Dataset ``kind`` (``"svhn"``, ``"stl10"`` or ``"flowers102"``) from torchvision's layout in
    ``directory``, downloaded there if absent, decoded once into the cache under ``root``.

    Raises:
        DataError: a failed download, a folder that lacks files, an md5 that is not torchvision's,
            an unreadable file or image.
    """
    return _LOADERS[kind](directory, root, progress)
