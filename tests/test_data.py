"""hpnb.data on tiny fixtures written in tmp_path; nothing here reads /work/shared or the repo's data/."""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hpnb import data as hd
from hpnb.data import CIFAR10_CLASSES, DataError, ImageData, load, normalize

# Created in this (non-alphabetical) order; ImageFolder order is sorted: ant, moth, zebra.
CLASSES = ("zebra", "ant", "moth")
SORTED = sorted(CLASSES)
N_TRAIN, N_TEST, SIZE = 4, 2, 8


def pixels(cls_idx: int, i: int, size: int = SIZE) -> np.ndarray:
    """A distinct, channel-asymmetric image for (sorted class index, file index)."""
    v = 10 * cls_idx + i
    img = np.empty((size, size, 3), dtype=np.uint8)
    img[..., 0] = v
    img[..., 1] = 100 + v
    img[..., 2] = 200 - v
    img[0, 0] = (255, 0, 7)  # one odd pixel so H/W and channel handling are all checked
    return img


def write_folder(base: Path, classes=CLASSES, n_train=N_TRAIN, n_test=N_TEST, size=SIZE) -> Path:
    """base/train/<class>/NNNN.png (lossless) and base/test/<class>/NNNN.{jpg,jpeg,JPEG}."""
    for cls in classes:
        k = sorted(classes).index(cls)
        for split, n in (("train", n_train), ("test", n_test)):
            d = base / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = Image.fromarray(pixels(k, i, size))
                if split == "train":
                    img.save(d / f"{i:04d}.png")
                else:
                    img.save(d / f"{i:04d}.{('jpg', 'jpeg', 'JPEG')[i % 3]}", quality=95)
        (base / "train" / cls / "notes.txt").write_text("not an image")
    return base


def write_zip(folder: Path, zpath: Path, top: str | None = None, only: str | None = None) -> Path:
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(folder.rglob("*")):
            rel = f.relative_to(folder).as_posix()
            if only and not rel.startswith(only + "/") and rel != only:
                continue
            arc = f"{top}/{rel}" if top else rel
            if f.is_dir():
                zf.writestr(arc + "/", b"")
            else:
                zf.write(f, arc)
    return zpath


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


@pytest.fixture
def droot(tmp_path, monkeypatch) -> Path:
    """HPNB_DATA points into tmp_path, so nothing touches the repository's data/."""
    root = tmp_path / "hpnb-data"
    monkeypatch.setenv("HPNB_DATA", str(root))
    return root


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_folder(tmp_path / "mini")


def fail_decoder(monkeypatch):
    def boom(data, where):
        raise AssertionError(f"decoded {where} although the cache should have been used")

    monkeypatch.setattr(hd, "_decode_image", boom)


def assert_same(a: ImageData, b: ImageData) -> None:
    for f in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, f), getattr(b, f)), f
    assert a.classes == b.classes and a.mean == b.mean and a.std == b.std


# ---------------------------------------------------------------------------------------------
# imagefolder


def test_imagefolder_shapes_labels_order_and_values(folder, droot):
    d = load(f"imagefolder:{folder}", progress=False)
    assert d.classes == SORTED == ["ant", "moth", "zebra"]
    assert d.train_x.shape == (3 * N_TRAIN, 3, SIZE, SIZE) and d.train_x.dtype == torch.uint8
    assert d.test_x.shape == (3 * N_TEST, 3, SIZE, SIZE) and d.test_x.dtype == torch.uint8
    assert d.train_y.dtype == torch.long and d.test_y.dtype == torch.long
    assert d.train_y.tolist() == [k for k in range(3) for _ in range(N_TRAIN)]
    assert d.test_y.tolist() == [k for k in range(3) for _ in range(N_TEST)]
    assert (d.num_classes, d.image_size, d.in_channels) == (3, (SIZE, SIZE), 3)
    assert d.name == "mini" and str(folder) in d.source
    # PNGs are lossless: every training image is exactly the array that was written (HWC -> CHW).
    for k in range(3):
        for i in range(N_TRAIN):
            expected = torch.from_numpy(pixels(k, i)).permute(2, 0, 1)
            assert torch.equal(d.train_x[k * N_TRAIN + i], expected)
    # JPEGs (.jpg, .jpeg, .JPEG): each test image is its own file's PIL decode, in sorted order.
    for k, cls in enumerate(SORTED):
        for i in range(N_TEST):
            path = folder / "test" / cls / f"{i:04d}.{('jpg', 'jpeg', 'JPEG')[i % 3]}"
            expected = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
            assert torch.equal(d.test_x[k * N_TEST + i], expected)
            written = torch.from_numpy(pixels(k, i)).permute(2, 0, 1)
            assert (d.test_x[k * N_TEST + i].float() - written).abs().median() <= 3  # lossy, but close
    # mean/std: per channel over all training pixels in [0, 1], population std.
    ref = np.stack([pixels(k, i) for k in range(3) for i in range(N_TRAIN)]).astype(np.float64) / 255
    np.testing.assert_allclose(d.mean, ref.mean(axis=(0, 1, 2)), atol=1e-12)
    np.testing.assert_allclose(d.std, ref.std(axis=(0, 1, 2)), atol=1e-12)


def test_cache_written_once_and_reused_without_decoding(folder, droot, monkeypatch):
    first = load(f"imagefolder:{folder}", progress=False)
    caches = list((droot / "cache").glob("*.pt"))
    assert len(caches) == 1 and caches[0].name.startswith("mini-")
    assert not [p for p in (droot / "cache").iterdir() if p.suffix != ".pt"]  # no temp files left
    fail_decoder(monkeypatch)
    second = load(f"imagefolder:{folder}", progress=False)
    assert_same(first, second)
    assert second.source == first.source and second.name == first.name
    # A changed file list is a different cache key: the new image must be decoded.
    Image.fromarray(pixels(0, 9)).save(folder / "train" / "ant" / "0009.png")
    with pytest.raises(AssertionError, match="decoded"):
        load(f"imagefolder:{folder}", progress=False)


def test_damaged_cache_is_rebuilt(folder, droot):
    first = load(f"imagefolder:{folder}", progress=False)
    (cache,) = (droot / "cache").glob("*.pt")
    cache.write_bytes(b"not a torch file")
    assert_same(first, load(f"imagefolder:{folder}", progress=False))
    assert torch.load(cache, weights_only=True)["name"] == "mini"


@pytest.mark.parametrize("top", [None, "mini"])
def test_zip_loads_identically(folder, droot, tmp_path, monkeypatch, top):
    from_folder = load(f"imagefolder:{folder}", progress=False)
    zpath = write_zip(folder, tmp_path / "mini-archive.zip", top=top)
    from_zip = load(f"imagefolder:{zpath}", progress=False)
    assert_same(from_folder, from_zip)
    assert from_zip.name == "mini-archive" and sha(zpath) in from_zip.source
    fail_decoder(monkeypatch)
    assert_same(from_zip, load(f"imagefolder:{zpath}", progress=False))  # cached too


def test_corrupt_zip_is_a_data_error_and_leaves_nothing(folder, droot, tmp_path):
    good = write_zip(folder, tmp_path / "good.zip", top="mini").read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="zip"):
        load(f"imagefolder:{bad}", progress=False)
    assert listing(droot) == []


def test_missing_split_empty_class_and_paths(tmp_path, droot):
    with pytest.raises(DataError, match=str(tmp_path / "nowhere")):
        load(f"imagefolder:{tmp_path / 'nowhere'}", progress=False)

    only_train = write_folder(tmp_path / "a")
    for f in sorted((only_train / "test").rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    (only_train / "test").rmdir()
    with pytest.raises(DataError, match="test/"):
        load(f"imagefolder:{only_train}", progress=False)

    empty = write_folder(tmp_path / "b")
    (empty / "train" / "yak").mkdir()
    (empty / "train" / "yak" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="yak"):
        load(f"imagefolder:{empty}", progress=False)

    mismatch = write_folder(tmp_path / "c")
    (mismatch / "test" / "ant").rename(mismatch / "test" / "bee")
    with pytest.raises(DataError, match="different classes"):
        load(f"imagefolder:{mismatch}", progress=False)
    assert listing(droot) == []


def test_images_of_different_sizes_name_the_file(tmp_path, droot):
    base = write_folder(tmp_path / "d")
    odd = base / "train" / "moth" / "0002.png"
    Image.fromarray(pixels(1, 2, size=9)).save(odd)
    with pytest.raises(DataError, match=r"0002\.png.*same size"):
        load(f"imagefolder:{base}", progress=False)


def test_undecodable_image_names_the_file(tmp_path, droot):
    base = write_folder(tmp_path / "e")
    (base / "test" / "zebra" / "0000.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(DataError, match=r"zebra/0000\.jpg"):
        load(f"imagefolder:{base}", progress=False)


def test_unknown_spec_names_the_known_ones(droot):
    for spec in ("mnist", "imagefolder:", "digits:extra", "cifar10-jpeg"):
        with pytest.raises(DataError) as err:
            load(spec, progress=False)
        if spec == "mnist":
            assert "digits" in str(err.value) and "imagefolder:PATH" in str(err.value)
            assert "cifar10-jpeg:DIR" in str(err.value)


# ---------------------------------------------------------------------------------------------
# cifar10-jpeg (with fixture zips standing in for the real ones)


def cifar_like(tmp_path: Path) -> Path:
    """DIR with cifar10-jpeg-{train,test}.zip in the real layout: cifar10-jpeg/<split>/<class>/."""
    src = write_folder(tmp_path / "cifar-src" / "cifar10-jpeg", classes=CIFAR10_CLASSES, n_train=2, n_test=1)
    out = tmp_path / "cifar-dir"
    out.mkdir()
    for split in ("train", "test"):
        write_zip(src, out / f"cifar10-jpeg-{split}.zip", top="cifar10-jpeg", only=split)
    return out


def patch_sums(monkeypatch, directory: Path) -> None:
    sums = {name: sha(directory / name) for name in hd.CIFAR10_JPEG_SHA256}
    monkeypatch.setattr(hd, "CIFAR10_JPEG_SHA256", sums)


def test_cifar10_jpeg_unpacks_checks_and_caches(tmp_path, droot, monkeypatch):
    directory = cifar_like(tmp_path)
    patch_sums(monkeypatch, directory)
    d = load(f"cifar10-jpeg:{directory}", progress=False)
    assert d.classes == list(CIFAR10_CLASSES) == sorted(CIFAR10_CLASSES)
    assert d.train_x.shape == (20, 3, SIZE, SIZE) and d.test_x.shape == (10, 3, SIZE, SIZE)
    assert d.train_y.bincount().tolist() == [2] * 10 and d.test_y.bincount().tolist() == [1] * 10
    assert d.name == "cifar10-jpeg"
    for name, digest in hd.CIFAR10_JPEG_SHA256.items():
        assert f"{directory / name} sha256={digest}" in d.source
    unpacked = droot / "cifar10-jpeg"
    assert sorted(p.name for p in unpacked.iterdir()) == [".hpnb-source.json", "test", "train"]
    assert len(list((unpacked / "train").rglob("*.png"))) == 20
    assert sorted(p.name for p in droot.iterdir()) == ["cache", "cifar10-jpeg"]  # no temp folders
    fail_decoder(monkeypatch)
    assert_same(d, load(f"cifar10-jpeg:{directory}", progress=False))


def test_cifar10_jpeg_runs_started_together_share_one_unpack(tmp_path, droot, monkeypatch):
    import threading

    directory = cifar_like(tmp_path)
    patch_sums(monkeypatch, directory)
    real = hd._unpack_cifar10_locked
    calls = []

    def slow_unpack(*args, **kwargs):   # widen the window in which the other run arrives
        calls.append(1)
        import time

        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(hd, "_unpack_cifar10_locked", slow_unpack)
    got, errors = [], []

    def run():
        try:
            got.append(hd._unpack_cifar10({s: directory / f"cifar10-jpeg-{s}.zip" for s in ("train", "test")},
                                          {"train": "t", "test": "u"}, droot, False))
        except Exception as err:   # the bug: one run reads while the other replaces the folder
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(calls) == 1 and len(set(got)) == 1
    assert len(list((droot / "cifar10-jpeg" / "train").rglob("*.png"))) == 20


def test_cifar10_checksum_mismatch_is_refused(tmp_path, droot):
    directory = cifar_like(tmp_path)  # real sums expected: these fixture zips cannot match
    with pytest.raises(DataError, match="checksum mismatch.*cifar10-jpeg-train.zip"):
        load(f"cifar10-jpeg:{directory}", progress=False)
    assert listing(droot) == []


def test_cifar10_corrupt_zip_leaves_no_partial_folder(tmp_path, droot, monkeypatch):
    directory = cifar_like(tmp_path)
    test_zip = directory / "cifar10-jpeg-test.zip"
    raw = test_zip.read_bytes()
    test_zip.write_bytes(raw[: len(raw) - 40])  # truncated: the central directory is gone
    patch_sums(monkeypatch, directory)  # checksums "match", so the unpack itself must catch it
    with pytest.raises(DataError, match="not a readable zip"):
        load(f"cifar10-jpeg:{directory}", progress=False)
    assert listing(droot) == []


def test_cifar10_missing_zip_names_it(tmp_path, droot):
    directory = cifar_like(tmp_path)
    (directory / "cifar10-jpeg-test.zip").unlink()
    with pytest.raises(DataError, match="cifar10-jpeg-test.zip"):
        load(f"cifar10-jpeg:{directory}", progress=False)


# ---------------------------------------------------------------------------------------------
# digits


def test_digits_split(droot):
    from sklearn.datasets import load_digits

    class_counts = np.bincount(load_digits().target, minlength=10)
    d = load("digits", progress=False)
    assert d.train_x.shape[1:] == (1, 8, 8) and d.train_x.dtype == torch.uint8
    assert len(d.train_y) + len(d.test_y) == 1797
    assert len(d.test_y) == math.ceil(0.2 * 1797)  # sklearn rounds a fractional test size up
    # Every image is in exactly one split: per class, train + test counts are the dataset's counts.
    per_class = d.train_y.bincount(minlength=10) + d.test_y.bincount(minlength=10)
    assert per_class.tolist() == class_counts.tolist()
    # Stratified: each class's test share is within one image of 20%.
    assert np.abs(d.test_y.bincount(minlength=10).numpy() - 0.2 * class_counts).max() <= 1
    assert d.classes == [str(i) for i in range(10)] and d.num_classes == 10
    assert d.image_size == (8, 8) and d.in_channels == 1
    allowed = {round(v * 255 / 16) for v in range(17)}
    assert set(torch.cat([d.train_x, d.test_x]).unique().tolist()) <= allowed
    assert int(d.train_x.max()) == 255 and int(d.train_x.min()) == 0
    assert "load_digits" in d.source
    assert listing(droot) == []  # digits needs no cache


def test_digits_split_is_fixed_by_seed(droot):
    a, b, c = load("digits"), load("digits"), load("digits", seed=1)
    assert_same(a, b)
    assert not torch.equal(a.train_y, c.train_y)


# ---------------------------------------------------------------------------------------------
# train_limit


def test_train_limit_is_stratified_and_seeded(droot):
    full = load("digits")
    counts = full.train_y.bincount(minlength=10).double()
    cut = load("digits", train_limit=500)
    assert len(cut.train_y) == 500 and torch.equal(cut.test_x, full.test_x)
    share = cut.train_y.bincount(minlength=10).double()
    assert (share - 500 * counts / counts.sum()).abs().max() < 1
    # Every kept image (with its label) comes from the full training set, with no repeats.
    rows = {(bytes(x.numpy().tobytes()), int(y)) for x, y in zip(full.train_x, full.train_y)}
    kept = [(bytes(x.numpy().tobytes()), int(y)) for x, y in zip(cut.train_x, cut.train_y)]
    assert all(r in rows for r in kept)
    assert_same(cut, load("digits", train_limit=500))
    other = load("digits", train_limit=500, seed=3)
    assert len(other.train_y) == 500 and not torch.equal(other.train_x, cut.train_x)
    assert cut.mean == hd.channel_stats(cut.train_x)[0]  # statistics of the kept images
    assert "500" in cut.source


def test_train_limit_on_an_imagefolder_after_caching(folder, droot, monkeypatch):
    load(f"imagefolder:{folder}", progress=False)
    fail_decoder(monkeypatch)
    d = load(f"imagefolder:{folder}", progress=False, train_limit=6)
    assert d.train_y.bincount().tolist() == [2, 2, 2] and len(d.test_y) == 3 * N_TEST
    assert load(f"imagefolder:{folder}", progress=False, train_limit=3 * N_TRAIN).train_y.numel() == 12
    for bad in (0, -1, 13, 2.5):
        with pytest.raises(DataError, match="train_limit"):
            load(f"imagefolder:{folder}", progress=False, train_limit=bad)


# ---------------------------------------------------------------------------------------------
# normalize


def test_normalize():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1).expand(2, 3, 4, 5)
    out = normalize(x, (0.0, 0.2, 0.5), (1.0, 0.5, 0.25))
    assert out.dtype == torch.float32 and out.shape == (2, 3, 4, 5)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.0, 0.0, 2.0]))
    torch.testing.assert_close(normalize(x[0], (0.0, 0.2, 0.5), (1.0, 0.5, 0.25)), out[0])
    with pytest.raises(TypeError):
        normalize(x.float(), (0.0,) * 3, (1.0,) * 3)
    with pytest.raises(ValueError):
        normalize(x, (0.5,), (0.5,))
    if torch.cuda.is_available():
        assert normalize(x.cuda(), (0.0, 0.2, 0.5), (1.0, 0.5, 0.25)).device.type == "cuda"
