"""Tiny datasets written in the official on-disk formats, so hpnb.data's real loaders run offline.

- CIFAR-10/100 "python version": Python 2 pickles (as the official files are: cPickle protocol 2,
  byte strings, numpy's globals under ``numpy.core``) in ``cifar-10-batches-py/`` and
  ``cifar-100-python/``, packed into ``.tar.gz`` archives with that top folder.
- Tiny ImageNet: ``tiny-imagenet-200/`` with wnids.txt, words.txt, train/<wnid>/<wnid>_boxes.txt,
  train/<wnid>/images/*.JPEG, val/images/*.JPEG + val/val_annotations.txt and the unlabelled
  test/images/, zipped with directory entries like the official zip.
- SVHN: ``train_32x32.mat`` / ``test_32x32.mat`` (scipy.io.savemat) with X (32, 32, 3, N) uint8 and
  y (N, 1), the digit 0 labelled 10, as torchvision.datasets.SVHN reads them.
- STL-10: ``stl10_binary/`` with train_X.bin, train_y.bin, test_X.bin, test_y.bin (each image's
  planes stored column by column, labels 1..10) and class_names.txt.
- Flowers-102: ``flowers-102/`` with jpg/image_NNNNN.jpg of different sizes, imagelabels.mat
  (labels 1..102) and setid.mat (1-based trnid, valid, tstid).
"""

from __future__ import annotations

import hashlib
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from hpnb.data import CIFAR10_CLASSES

_RECONSTRUCT = np.empty(0).__reduce__()[0]
# What the official files' GLOBAL opcodes say (numpy of 2009 kept _reconstruct in numpy.core).
_PY2_GLOBALS = {
    _RECONSTRUCT: b"numpy.core.multiarray\n_reconstruct\n",
    np.ndarray: b"numpy\nndarray\n",
    np.dtype: b"numpy\ndtype\n",
}


class Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did for the official CIFAR files (protocol 2).

    Byte strings (Python 2's ``str``: every key, name and the array bytes) become STRING opcodes,
    which Python 3 decodes with the unpickler's ``encoding``; arrays reduce as numpy 1.x did.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        self.write(pickle.GLOBAL + _PY2_GLOBALS[obj])
        self.memoize(obj)

    def reducer_override(self, obj: object):
        if isinstance(obj, np.ndarray):
            assert obj.dtype == np.uint8, "the fixtures only pickle uint8 arrays, as CIFAR does"
            return _RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, obj.shape, obj.dtype, False, obj.tobytes())
        if isinstance(obj, np.dtype):
            return np.dtype, (b"u1", 0, 1), (3, b"|", None, None, None, -1, -1, 0)
        return NotImplemented


def py2_pickle(obj: object, path: Path) -> Path:
    with open(path, "wb") as f:
        Py2Pickler(f, protocol=2).dump(obj)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# CIFAR


def cifar_image(k: int) -> np.ndarray:
    """Image k of a fixture set as (3, 32, 32) uint8: channel, row, column and k all change it."""
    c, h, w = np.indices((3, 32, 32))
    img = ((80 * c + 2 * h + w + 7 * k) % 250).astype(np.uint8)
    img[0, 0, 1] = 255  # red, row 0, column 1: a transposed or channel-swapped read misses it
    return img


def cifar_row(img: np.ndarray) -> np.ndarray:
    """The official row layout: 1024 red values, then green, then blue, each plane row by row."""
    return np.concatenate([img[c].reshape(-1) for c in range(3)])


def cifar_batch(first: int, n: int, labels: dict[bytes, list[int]], batch_label: bytes) -> dict:
    return {
        b"batch_label": batch_label,
        **labels,
        b"data": np.stack([cifar_row(cifar_image(first + i)) for i in range(n)]),
        b"filenames": [b"fixture_%05d.png" % (first + i) for i in range(n)],
    }


def cifar10_label(k: int) -> int:
    return k % 10


def cifar100_label(k: int) -> int:
    return (7 * k) % 100  # not k % 100 or coarse-like, so a mixed-up label key shows


CIFAR100_NAMES = [f"fine_{i:02d}" for i in range(100)]
CIFAR10_PER_BATCH, CIFAR10_TEST = 4, 20  # 20 training images (2 a class), 20 test images
CIFAR100_TRAIN, CIFAR100_TEST = 200, 100


def write_cifar10(base: Path) -> Path:
    """base/cifar-10-batches-py/: data_batch_1..5 (4 images each), test_batch (20), batches.meta."""
    folder = base / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b in range(5):
        first = b * CIFAR10_PER_BATCH
        labels = {b"labels": [cifar10_label(first + i) for i in range(CIFAR10_PER_BATCH)]}
        py2_pickle(cifar_batch(first, CIFAR10_PER_BATCH, labels, b"training batch %d of 5" % (b + 1)),
                   folder / f"data_batch_{b + 1}")
    first = 5 * CIFAR10_PER_BATCH
    labels = {b"labels": [cifar10_label(first + i) for i in range(CIFAR10_TEST)]}
    py2_pickle(cifar_batch(first, CIFAR10_TEST, labels, b"testing batch 1 of 1"), folder / "test_batch")
    meta = {b"num_cases_per_batch": 10000, b"label_names": [n.encode() for n in CIFAR10_CLASSES], b"num_vis": 3072}
    py2_pickle(meta, folder / "batches.meta")
    (folder / "readme.html").write_text("<meta HTTP-EQUIV='REFRESH' content='0; url=https://www.cs.toronto.edu/~kriz/'>")
    return folder


def write_cifar100(base: Path) -> Path:
    """base/cifar-100-python/: train (200 images), test (100), meta with fine and coarse names."""
    folder = base / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, first, n in (("train", 0, CIFAR100_TRAIN), ("test", CIFAR100_TRAIN, CIFAR100_TEST)):
        fine = [cifar100_label(first + i) for i in range(n)]
        labels = {b"fine_labels": fine, b"coarse_labels": [f // 5 for f in fine]}
        py2_pickle(cifar_batch(first, n, labels, name.encode()), folder / name)
    meta = {
        b"fine_label_names": [n.encode() for n in CIFAR100_NAMES],
        b"coarse_label_names": [b"coarse_%02d" % i for i in range(20)],
    }
    py2_pickle(meta, folder / "meta")
    (folder / "file.txt~").write_text("")
    return folder


def write_tar_gz(folder: Path, path: Path) -> Path:
    """``folder`` packed as the top folder of a .tar.gz, like the official CIFAR archives."""
    with tarfile.open(path, "w:gz") as tf:
        tf.add(folder, arcname=folder.name)
    return path


# ---------------------------------------------------------------------------------------------
# Tiny ImageNet

# wnids.txt order (not sorted) and the words.txt names; the loader's classes are the first names.
TINY_WNIDS = ("n02124075", "n01443537", "n04067472")
TINY_WORDS = {
    "n00001740": "entity",
    "n01443537": "goldfish, Carassius auratus",
    "n02124075": "Egyptian cat",
    "n04067472": "reel",
    "n09999999": "not in this subset",
}
TINY_CLASSES = ["Egyptian cat", "goldfish", "reel"]
TINY_TRAIN, TINY_SIZE = 4, 16
TINY_VAL = [(f"val_{i}.JPEG", TINY_WNIDS[(2 * i + 1) % 3]) for i in range(6)]  # labels 1, 0, 2, 1, 0, 2
TINY_GREY = ("n04067472", 1)  # (wnid, index) of the one grayscale training JPEG
TINY_CMYK = ("n01443537", 2)  # and of the one CMYK JPEG


def tiny_colour(label: int, i: int) -> tuple[int, int, int]:
    return 40 + 60 * label, 30 * i, 200 - 40 * label


def _jpeg(path: Path, colour: tuple[int, int, int], mode: str = "RGB") -> None:
    img = Image.new("RGB", (TINY_SIZE, TINY_SIZE), colour)
    img.convert(mode).save(path, quality=95)


def write_tinyimagenet(base: Path) -> Path:
    """base/tiny-imagenet-200/ in the official layout with 16x16 images (the real ones are 64x64)."""
    folder = base / "tiny-imagenet-200"
    folder.mkdir(parents=True)
    (folder / "wnids.txt").write_text("".join(w + "\n" for w in TINY_WNIDS))
    (folder / "words.txt").write_text("".join(f"{w}\t{n}\n" for w, n in TINY_WORDS.items()))
    for label, wnid in enumerate(TINY_WNIDS):
        images = folder / "train" / wnid / "images"
        images.mkdir(parents=True)
        boxes = []
        for i in range(TINY_TRAIN):
            mode = "L" if (wnid, i) == TINY_GREY else "CMYK" if (wnid, i) == TINY_CMYK else "RGB"
            _jpeg(images / f"{wnid}_{i}.JPEG", tiny_colour(label, i), mode)
            boxes.append(f"{wnid}_{i}.JPEG\t0\t0\t{TINY_SIZE - 1}\t{TINY_SIZE - 1}\n")
        (folder / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))
    (folder / "val" / "images").mkdir(parents=True)
    for i, (name, wnid) in enumerate(TINY_VAL):
        _jpeg(folder / "val" / "images" / name, tiny_colour(TINY_WNIDS.index(wnid), i))
    (folder / "val" / "val_annotations.txt").write_text(
        "".join(f"{name}\t{wnid}\t1\t2\t{TINY_SIZE - 2}\t{TINY_SIZE - 3}\n" for name, wnid in TINY_VAL)
    )
    (folder / "test" / "images").mkdir(parents=True)
    _jpeg(folder / "test" / "images" / "test_0.JPEG", (9, 9, 9))
    return folder


def write_zip(folder: Path, path: Path) -> Path:
    """``folder`` zipped as its top folder, with directory entries, like the official zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(folder.name + "/", b"")
        for f in sorted(folder.rglob("*")):
            arc = f"{folder.name}/{f.relative_to(folder).as_posix()}"
            if f.is_dir():
                zf.writestr(arc + "/", b"")
            else:
                zf.write(f, arc)
    return path


# ---------------------------------------------------------------------------------------------
# SVHN, STL-10, Flowers-102 (the layouts torchvision.datasets reads)

SVHN_TRAIN, SVHN_TEST = 12, 7


def svhn_digit(k: int) -> int:
    return (3 * k + 1) % 10  # every digit, 0 included, within the first ten images


def svhn_image(k: int) -> np.ndarray:
    """Image k as (32, 32, 3) uint8 (rows, columns, channels): every axis and k change it."""
    h, w, c = np.indices((32, 32, 3))
    img = ((3 * h + w + 90 * c + 11 * k) % 251).astype(np.uint8)
    img[0, 1, 0] = 255  # red, row 0, column 1: a transposed or channel-swapped read misses it
    return img


def write_svhn(base: Path) -> Path:
    """base/train_32x32.mat and base/test_32x32.mat in the official layout (label 10 for the digit 0)."""
    from scipy.io import savemat

    base.mkdir(parents=True, exist_ok=True)
    for name, first, n in (("train", 0, SVHN_TRAIN), ("test", SVHN_TRAIN, SVHN_TEST)):
        x = np.stack([svhn_image(first + i) for i in range(n)], axis=3)  # (32, 32, 3, N)
        y = np.array([[svhn_digit(first + i) or 10] for i in range(n)], dtype=np.uint8)  # (N, 1)
        savemat(base / f"{name}_32x32.mat", {"X": x, "y": y})
    return base


STL10_TRAIN, STL10_TEST = 6, 4
STL10_NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def stl10_label(k: int) -> int:
    return (7 * k + 2) % 10


def stl10_image(k: int) -> np.ndarray:
    """Image k as (3, 96, 96) uint8 (channel, row, column)."""
    c, h, w = np.indices((3, 96, 96))
    img = ((80 * c + 2 * h + w + 13 * k) % 250).astype(np.uint8)
    img[0, 0, 1] = 255  # red, row 0, column 1
    return img


def write_stl10(base: Path) -> Path:
    """base/stl10_binary/ with the labelled .bin files and class_names.txt (no unlabeled_X.bin)."""
    folder = base / "stl10_binary"
    folder.mkdir(parents=True)
    for name, first, n in (("train", 0, STL10_TRAIN), ("test", STL10_TRAIN, STL10_TEST)):
        # The official files store each 96x96 plane column by column (MATLAB order).
        raw = b"".join(stl10_image(first + i).transpose(0, 2, 1).tobytes() for i in range(n))
        (folder / f"{name}_X.bin").write_bytes(raw)
        (folder / f"{name}_y.bin").write_bytes(bytes(stl10_label(first + i) + 1 for i in range(n)))
    (folder / "class_names.txt").write_text("".join(n + "\n" for n in STL10_NAMES))
    (folder / "fold_indices.txt").write_text("0 1 2\n" * 10)
    return folder


# (width, height) and 1-based label of image_00001.jpg ... image_00010.jpg
FLOWERS = [((90, 30), 1), ((30, 60), 102), ((64, 64), 50), ((45, 90), 1), ((70, 40), 7),
           ((33, 33), 102), ((60, 90), 50), ((90, 30), 7), ((40, 40), 3), ((50, 80), 3)]
FLOWERS_SPLITS = {"trnid": [1, 2, 3, 4], "valid": [5, 6], "tstid": [7, 8, 9, 10]}


def flowers_image(size: tuple[int, int], k: int) -> Image.Image:
    """Three bands along the longer side (red, green, blue); the middle band's green carries k."""
    w, h = size
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    long = max(w, h)
    for band, colour in enumerate(((220, 20, 20), (20, 100 + 10 * k, 20), (20, 20, 220))):
        part = slice(band * long // 3, (band + 1) * long // 3)
        if w >= h:
            arr[:, part] = colour
        else:
            arr[part, :] = colour
    return Image.fromarray(arr)


def write_flowers102(base: Path) -> Path:
    """base/flowers-102/ with jpg/, imagelabels.mat and setid.mat as torchvision's Flowers102 reads."""
    from scipy.io import savemat

    folder = base / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    for k, (size, _) in enumerate(FLOWERS, 1):
        flowers_image(size, k).save(folder / "jpg" / f"image_{k:05d}.jpg", quality=95)
    savemat(folder / "imagelabels.mat", {"labels": np.array([[label for _, label in FLOWERS]], dtype=np.uint8)})
    savemat(folder / "setid.mat", {k: np.array([v], dtype=np.uint16) for k, v in FLOWERS_SPLITS.items()})
    return folder


def write_tgz(folder: Path, path: Path) -> Path:
    """The contents of ``folder`` (its subfolders at the top), packed like 102flowers.tgz holds jpg/."""
    with tarfile.open(path, "w:gz") as tf:
        for f in sorted(folder.iterdir()):
            tf.add(f, arcname=f.name)
    return path
