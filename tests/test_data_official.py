"""hpnb.data's official-source loaders (CIFAR-10/100, Tiny ImageNet), rotated digits and the reshaping
options (long_tail, train_limit, test_limit, image_size), on fixtures in the exact official formats."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import fixtures_data as fx
import numpy as np
import pytest
import torch
from PIL import Image

from hpnb import data as hd
from hpnb.data import CIFAR10_CLASSES, DataError, load


@pytest.fixture
def droot(tmp_path, monkeypatch) -> Path:
    """HPNB_DATA points into tmp_path, so nothing touches the repository's data/."""
    root = tmp_path / "hpnb-data"
    monkeypatch.setenv("HPNB_DATA", str(root))
    return root


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    """The three fixture archives, built once; tests copy nothing out of here, they download it."""
    base = tmp_path_factory.mktemp("archives")
    return {
        "cifar10": fx.write_tar_gz(fx.write_cifar10(base / "c10"), base / "cifar-10-python.tar.gz"),
        "cifar100": fx.write_tar_gz(fx.write_cifar100(base / "c100"), base / "cifar-100-python.tar.gz"),
        "tinyimagenet": fx.write_zip(fx.write_tinyimagenet(base / "tiny"), base / "tiny-imagenet-200.zip"),
    }


def serve(monkeypatch, kind: str, archive: Path, md5: str | None = None) -> hd.Archive:
    """Point ARCHIVES[kind] at ``archive`` through a file:// URL, with its md5 unless one is given."""
    entry = dataclasses.replace(hd.ARCHIVES[kind], url=archive.as_uri(), md5=md5 or fx.md5(archive))
    monkeypatch.setitem(hd.ARCHIVES, kind, entry)
    return entry


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def no_unpickling(monkeypatch) -> None:
    def boom(path):
        raise AssertionError(f"read {path} although the cache should have been used")

    monkeypatch.setattr(hd, "read_cifar_pickle", boom)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 / CIFAR-100


def test_cifar10_downloads_verifies_extracts_and_loads(archives, droot, tmp_path, monkeypatch):
    entry = serve(monkeypatch, "cifar10", archives["cifar10"])
    directory = tmp_path / "c10-here"
    d = load(f"cifar10:{directory}", progress=False)

    # The archive and its extracted folder, and no temp folder or .part file left behind.
    assert sorted(p.name for p in directory.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    assert (directory / "cifar-10-python.tar.gz").read_bytes() == archives["cifar10"].read_bytes()
    assert (directory / "cifar-10-batches-py" / ".hpnb-archive.json").is_file()
    assert d.name == "cifar10" and d.classes == list(CIFAR10_CLASSES)
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (20, 3, 32, 32)
    assert d.train_x.dtype == torch.uint8 and d.train_y.dtype == torch.long
    assert d.train_y.tolist() == [fx.cifar10_label(k) for k in range(20)]  # data_batch_1..5 in order
    assert d.test_y.tolist() == [fx.cifar10_label(k) for k in range(20, 40)]
    for k in (0, 7, 19):
        assert torch.equal(d.train_x[k], torch.from_numpy(fx.cifar_image(k)))
    assert torch.equal(d.test_x[3], torch.from_numpy(fx.cifar_image(23)))
    assert int(d.train_x[5, 0, 0, 1]) == 255 and int(d.train_x[5, 0, 1, 0]) != 255  # red, row 0, col 1
    assert entry.md5 in d.source and entry.url in d.source

    # The cache answers the next load: no pickle is read, and the archive is not needed either.
    (directory / "cifar-10-python.tar.gz").unlink()
    no_unpickling(monkeypatch)
    again = load(f"cifar10:{directory}", progress=False)
    assert torch.equal(again.train_x, d.train_x) and again.classes == d.classes and again.source == d.source


def test_cifar100_default_dir_fine_labels_and_image_size(archives, droot, monkeypatch):
    serve(monkeypatch, "cifar100", archives["cifar100"])
    d = load("cifar100", progress=False)
    assert (droot / "cifar100" / "cifar-100-python" / "meta").is_file()
    assert d.num_classes == 100 and d.classes == fx.CIFAR100_NAMES
    assert d.train_y.tolist() == [fx.cifar100_label(k) for k in range(200)]  # fine, not coarse, labels
    assert d.test_y.tolist() == [fx.cifar100_label(k) for k in range(200, 300)]
    assert torch.equal(d.test_x[99], torch.from_numpy(fx.cifar_image(299)))

    big = load("cifar100", progress=False, image_size=64)
    assert big.train_x.shape == (200, 3, 64, 64) and big.test_x.shape == (100, 3, 64, 64)
    assert big.train_x.dtype == torch.uint8 and "32x32 to 64x64" in big.source
    # Upscaling keeps the picture: each 2x2 block's mean is close to the original pixel.
    blocks = big.train_x[:4].float().view(4, 3, 32, 2, 32, 2).mean(dim=(3, 5))
    assert (blocks - d.train_x[:4].float()).abs().median() <= 2
    np.testing.assert_allclose(big.mean, hd.channel_stats(big.train_x)[0])
    assert big.mean != d.mean
    # The cache keeps the 32x32 originals, so other sizes never decode again.
    (cache,) = (droot / "cache").glob("cifar100-*.pt")
    assert torch.load(cache, weights_only=True)["train_x"].shape[-1] == 32
    assert load("cifar100", progress=False, image_size=32).source == d.source  # already that size


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_bad_download_is_refused_then_replaced(archives, droot, tmp_path, monkeypatch, damage):
    good = archives["cifar10"]
    raw = bytearray(good.read_bytes())
    if damage == "truncated":
        del raw[len(raw) // 2 :]
    else:
        raw[len(raw) // 2] ^= 0x01  # one bit, same size
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    bad.write_bytes(bytes(raw))
    serve(monkeypatch, "cifar10", bad, md5=fx.md5(good))
    directory = tmp_path / "c10"
    with pytest.raises(DataError, match=rf"checksum mismatch.*md5 {fx.md5(bad)}, expected {fx.md5(good)}"):
        load(f"cifar10:{directory}", progress=False)
    assert listing(directory) == ["cifar-10-python.tar.gz.corrupt"]  # nothing extracted or half-done
    assert listing(droot) == []

    serve(monkeypatch, "cifar10", good)  # the source is fixed: the bad copy is not used again
    d = load(f"cifar10:{directory}", progress=False)
    assert len(d.train_y) == 20
    assert (directory / "cifar-10-python.tar.gz").read_bytes() == good.read_bytes()


def test_corrupt_archive_with_matching_md5_leaves_no_folder(archives, droot, tmp_path, monkeypatch):
    raw = archives["cifar100"].read_bytes()
    directory = tmp_path / "c100"
    directory.mkdir()
    bad = directory / "cifar-100-python.tar.gz"  # already present: used without downloading
    bad.write_bytes(raw[: len(raw) // 2])
    # Its md5 "matches" (a wrong registry entry), so the extraction itself must catch it.
    serve(monkeypatch, "cifar100", tmp_path / "nowhere.tar.gz", md5=fx.md5(bad))
    with pytest.raises(DataError, match="corrupt or incomplete"):
        load(f"cifar100:{directory}", progress=False)
    assert listing(directory) == ["cifar-100-python.tar.gz.corrupt"]
    assert listing(droot) == []


def test_archive_without_the_official_top_folder(archives, droot, tmp_path, monkeypatch):
    other = fx.write_tar_gz(fx.write_cifar100(tmp_path / "src"), tmp_path / "cifar-10-python.tar.gz")
    serve(monkeypatch, "cifar10", other)  # a CIFAR-100 archive where CIFAR-10's is expected
    with pytest.raises(DataError, match="no top folder cifar-10-batches-py"):
        load(f"cifar10:{tmp_path / 'c10'}", progress=False)
    assert listing(tmp_path / "c10") == ["cifar-10-python.tar.gz.corrupt"]


def test_download_failure_names_url_and_destination(droot, tmp_path, monkeypatch):
    missing = tmp_path / "absent.tar.gz"
    serve(monkeypatch, "cifar10", missing, md5="0" * 32)
    with pytest.raises(DataError, match=rf"cannot download {missing.as_uri()} to .*cifar-10-python\.tar\.gz"):
        load(f"cifar10:{tmp_path / 'c10'}", progress=False)
    assert listing(tmp_path / "c10") == []  # no partial download


def test_malicious_pickle_is_refused_and_never_runs(archives, droot, tmp_path, monkeypatch):
    serve(monkeypatch, "cifar10", archives["cifar10"])
    directory = tmp_path / "c10"
    load(f"cifar10:{directory}", progress=False)
    marker = tmp_path / "pwned"
    # GLOBAL 'os system' called with a shell command, as a hostile data_batch would do.
    command = f"touch {marker}".encode()
    evil = b"\x80\x02cos\nsystem\nq\x00X" + len(command).to_bytes(4, "little") + command + b"\x85R."
    batch = directory / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(evil)
    with pytest.raises(DataError, match=r"data_batch_3.*refused.*os\.system"):
        load(f"cifar10:{directory}", progress=False)
    assert not marker.exists()

    class Hostile:  # what pickle.dumps makes of such an object (posix.system on Linux)
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    batch.write_bytes(pickle.dumps(Hostile(), protocol=2))
    with pytest.raises(DataError, match="refused"):
        hd.read_cifar_pickle(batch)
    batch.write_bytes(pickle.dumps({"data": Hostile()}, protocol=4))
    with pytest.raises(DataError, match="refused"):
        hd.read_cifar_pickle(batch)
    assert not marker.exists()


def test_damaged_or_incomplete_extracted_folder(archives, droot, tmp_path, monkeypatch):
    serve(monkeypatch, "cifar10", archives["cifar10"])
    directory = tmp_path / "c10"
    load(f"cifar10:{directory}", progress=False)
    folder = directory / "cifar-10-batches-py"
    raw = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataError, match=r"cannot read .*test_batch"):
        load(f"cifar10:{directory}", progress=False)
    fx.py2_pickle({b"labels": [1, 2], b"data": np.zeros((2, 100), np.uint8)}, folder / "test_batch")
    with pytest.raises(DataError, match=r"test_batch: 'data' is not a uint8 array of shape \(N, 3072\)"):
        load(f"cifar10:{directory}", progress=False)
    fx.py2_pickle({b"labels": [1, 12], b"data": np.zeros((2, 3072), np.uint8)}, folder / "test_batch")
    with pytest.raises(DataError, match="labels outside 0..9"):
        load(f"cifar10:{directory}", progress=False)
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataError, match="data_batch_4 is missing"):
        load(f"cifar10:{directory}", progress=False)


# ---------------------------------------------------------------------------------------------
# Tiny ImageNet


def test_tinyimagenet_official_layout(archives, droot, tmp_path, monkeypatch):
    entry = serve(monkeypatch, "tinyimagenet", archives["tinyimagenet"])
    directory = tmp_path / "tin"
    d = load(f"tinyimagenet:{directory}", progress=False)
    folder = directory / "tiny-imagenet-200"
    assert (folder / "val" / "val_annotations.txt").is_file()
    assert d.name == "tinyimagenet" and d.classes == fx.TINY_CLASSES  # wnids.txt order, first names
    assert d.train_x.shape == (12, 3, fx.TINY_SIZE, fx.TINY_SIZE) and d.test_x.shape == (6, 3, 16, 16)
    assert d.train_y.tolist() == [k for k in range(3) for _ in range(fx.TINY_TRAIN)]
    # Test = the official val split, labelled by val_annotations.txt; test/ (unlabelled) is ignored.
    assert d.test_y.tolist() == [fx.TINY_WNIDS.index(w) for _, w in fx.TINY_VAL]
    for label, wnid in enumerate(fx.TINY_WNIDS):
        for i in range(fx.TINY_TRAIN):
            path = folder / "train" / wnid / "images" / f"{wnid}_{i}.JPEG"
            expected = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
            got = d.train_x[label * fx.TINY_TRAIN + i]
            assert torch.equal(got, expected)
            if (wnid, i) != fx.TINY_GREY:
                colour = torch.tensor(fx.tiny_colour(label, i)).view(3, 1, 1)
                assert (got.float() - colour).abs().max() <= 12  # JPEG (and CMYK) round trip
    g_label = fx.TINY_WNIDS.index(fx.TINY_GREY[0])
    grey = d.train_x[g_label * fx.TINY_TRAIN + fx.TINY_GREY[1]]
    assert Image.open(folder / "train" / fx.TINY_GREY[0] / "images" / f"{fx.TINY_GREY[0]}_1.JPEG").mode == "L"
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])  # grey became RGB
    assert entry.md5 in d.source and "val split" in d.source
    # words.txt's whole line travels with the data, for class-name embeddings (issue 10.7).
    assert d.class_words == [fx.TINY_WORDS[w] for w in fx.TINY_WNIDS]
    assert load(f"tinyimagenet:{directory}", progress=False).class_words == d.class_words   # from the cache too

    # A name shared by two wnids is told apart; the changed words.txt is a new cache key.
    words = folder / "words.txt"
    words.write_text(words.read_text().replace("Egyptian cat", "reel"))
    assert load(f"tinyimagenet:{directory}", progress=False).classes == [
        "reel (n02124075)", "goldfish", "reel (n04067472)",
    ]


def test_tinyimagenet_bad_layouts(archives, droot, tmp_path, monkeypatch):
    serve(monkeypatch, "tinyimagenet", archives["tinyimagenet"])
    directory = tmp_path / "tin"
    load(f"tinyimagenet:{directory}", progress=False)
    folder = directory / "tiny-imagenet-200"
    annotations = folder / "val" / "val_annotations.txt"
    text = annotations.read_text()
    annotations.write_text(text + "val_9.JPEG\tn07777777\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match=r"val_annotations\.txt:7: .*wnid from wnids\.txt"):
        load(f"tinyimagenet:{directory}", progress=False)
    annotations.write_text(text + f"val_9.JPEG\t{fx.TINY_WNIDS[0]}\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match=r"val_9\.JPEG not found"):
        load(f"tinyimagenet:{directory}", progress=False)
    annotations.write_text(text)
    for f in (folder / "train" / fx.TINY_WNIDS[2] / "images").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=rf"{fx.TINY_WNIDS[2]}/images holds no \.JPEG"):
        load(f"tinyimagenet:{directory}", progress=False)
    (folder / "words.txt").write_text("n00001740\tentity\n")
    with pytest.raises(DataError, match="no names for the wnids"):
        load(f"tinyimagenet:{directory}", progress=False)


def test_tinyimagenet_corrupt_zip(archives, droot, tmp_path, monkeypatch):
    raw = archives["tinyimagenet"].read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[: len(raw) - 60])  # the central directory is gone
    serve(monkeypatch, "tinyimagenet", cut, md5=fx.md5(archives["tinyimagenet"]))
    with pytest.raises(DataError, match="checksum mismatch"):
        load(f"tinyimagenet:{tmp_path / 'a'}", progress=False)
    serve(monkeypatch, "tinyimagenet", cut)  # md5 "matches": the unzip itself must fail cleanly
    with pytest.raises(DataError, match="corrupt or incomplete"):
        load(f"tinyimagenet:{tmp_path / 'b'}", progress=False)
    assert listing(tmp_path / "b") == ["tiny-imagenet-200.zip.corrupt"]


# ---------------------------------------------------------------------------------------------
# rotated-digits


def test_rotated_digits_targets(droot):
    d = load("rotated-digits")
    plain = load("digits")
    assert d.name == "rotated-digits" and d.classes == plain.classes
    assert torch.equal(d.train_y, plain.train_y) and torch.equal(d.test_y, plain.test_y)  # digit classes
    assert d.train_x.shape == (1437, 1, 16, 16) and d.test_x.shape == (360, 1, 16, 16)
    for x, t in ((d.train_x, d.train_targets), (d.test_x, d.test_targets)):
        assert t.dtype == torch.float32 and t.shape == (len(x),)
        assert float(t.min()) >= 0.0 and float(t.max()) < 180.0
    assert float(d.train_targets.std()) > 40  # spread over [0, 180), not a constant
    assert "[0, 180)" in d.source and "16x16" in d.source

    # The recorded angle is the applied one: rotating back by it (clockwise) restores the digit.
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    upright = hd.resize_images(plain.train_x[:40], 16).float()
    errs = {}
    for shift in (0.0, 90.0):
        back = torch.stack([
            TF.rotate(x.float(), -(float(t) + shift), interpolation=InterpolationMode.BILINEAR)
            for x, t in zip(d.train_x[:40], d.train_targets[:40])
        ])
        errs[shift] = float((back - upright)[..., 4:12, 4:12].abs().mean())
    assert errs[0.0] < 0.5 * errs[90.0]

    same, other = load("rotated-digits"), load("rotated-digits", seed=1)
    assert torch.equal(same.train_targets, d.train_targets) and torch.equal(same.train_x, d.train_x)
    assert not torch.allclose(other.train_targets[:50], d.train_targets[:50])


def test_limits_subset_the_targets_too(droot):
    full = load("rotated-digits")
    cut = load("rotated-digits", train_limit=100, test_limit=50, long_tail="linear:5-30")
    assert len(cut.train_targets) == 100 and len(cut.test_targets) == 50
    pairs = {(x.numpy().tobytes(), float(t)) for x, t in zip(full.train_x, full.train_targets)}
    assert all((x.numpy().tobytes(), float(t)) in pairs for x, t in zip(cut.train_x, cut.train_targets))
    pairs = {(x.numpy().tobytes(), float(t)) for x, t in zip(full.test_x, full.test_targets)}
    assert all((x.numpy().tobytes(), float(t)) in pairs for x, t in zip(cut.test_x, cut.test_targets))


# ---------------------------------------------------------------------------------------------
# long_tail, test_limit


def test_long_tail_counts_match_the_published_profiles():
    # Cao et al.'s CIFAR-10-LT / CIFAR-100-LT (DL2PA's F = 0.01, 0.02, 0.005): per-class counts and totals.
    assert hd.long_tail_counts("exp:0.01", [5000] * 10) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    totals = {f: (sum(hd.long_tail_counts(f"exp:{f}", [5000] * 10)), sum(hd.long_tail_counts(f"exp:{f}", [500] * 100)))
              for f in (0.005, 0.01, 0.02)}
    assert totals == {0.005: (11203, 9502), 0.01: (12406, 10847), 0.02: (13996, 12608)}
    # HPN's 2 to 200 examples per class on CIFAR-100.
    assert hd.long_tail_counts("linear:2-200", [500] * 100) == list(range(200, 0, -2))
    assert hd.long_tail_counts("linear:3-10", [10] * 10) == [10, 9, 8, 8, 7, 6, 5, 5, 4, 3]


def test_long_tail_through_load(droot):
    full = load("digits", seed=4)  # the seed also fixes the digits split
    have = full.train_y.bincount(minlength=10)
    n_max = int(have.min())
    d = load("digits", long_tail="exp:0.05", seed=4)
    assert d.train_y.bincount(minlength=10).tolist() == [int(n_max * 0.05 ** (c / 9)) for c in range(10)]
    assert torch.equal(d.test_x, full.test_x) and torch.equal(d.test_y, full.test_y)  # test untouched
    rows = {(x.numpy().tobytes(), int(y)) for x, y in zip(full.train_x, full.train_y)}
    kept = [(x.numpy().tobytes(), int(y)) for x, y in zip(d.train_x, d.train_y)]
    assert len(set(kept)) == len(kept) and all(r in rows for r in kept)
    assert d.mean == hd.channel_stats(d.train_x)[0] and "'exp:0.05'" in d.source
    assert torch.equal(load("digits", long_tail="exp:0.05", seed=4).train_x, d.train_x)
    assert not torch.equal(load("digits", long_tail="exp:0.05", seed=5).train_x, d.train_x)

    lin = load("digits", long_tail="linear:2-20", seed=4)
    assert lin.train_y.bincount(minlength=10).tolist() == list(range(20, 0, -2))
    # train_limit then samples the long-tailed set, keeping its proportions to within one image.
    both = load("digits", long_tail="linear:2-20", train_limit=55, seed=4)
    assert len(both.train_y) == 55
    expected = np.arange(20, 0, -2) * 55 / 110
    assert np.abs(both.train_y.bincount(minlength=10).numpy() - expected).max() < 1


@pytest.mark.parametrize("bad", ["exp:0", "exp:1.5", "exp:nan", "exp:", "exp:abc", "linear:200-2", "linear:0-5",
                                 "linear:2", "linear:2-x", "lin:2-200", "", "0.01", 0.01])
def test_bad_long_tail_strings(droot, bad):
    with pytest.raises(DataError, match="long_tail"):
        load("digits", long_tail=bad)


def test_impossible_long_tail_counts(droot):
    with pytest.raises(DataError, match="impossible.*class 0 would keep 500"):
        load("digits", long_tail="linear:2-500")
    with pytest.raises(DataError, match="impossible.*would keep 0 images"):
        load("digits", long_tail="exp:0.001")


def test_test_limit_is_stratified_and_seeded(archives, droot, monkeypatch):
    full = load("digits")
    counts = full.test_y.bincount(minlength=10).double()
    cut = load("digits", test_limit=100)
    assert len(cut.test_y) == 100 and torch.equal(cut.train_x, full.train_x) and cut.mean == full.mean
    assert (cut.test_y.bincount(minlength=10).double() - 100 * counts / counts.sum()).abs().max() < 1
    rows = {(x.numpy().tobytes(), int(y)) for x, y in zip(full.test_x, full.test_y)}
    assert all((x.numpy().tobytes(), int(y)) in rows for x, y in zip(cut.test_x, cut.test_y))
    assert torch.equal(load("digits", test_limit=100).test_x, cut.test_x)
    assert not torch.equal(load("digits", test_limit=100, seed=2).test_y, cut.test_y)
    assert "test images cut to a class-stratified 100" in cut.source

    serve(monkeypatch, "cifar10", archives["cifar10"])
    c10 = load("cifar10", progress=False, test_limit=10)
    assert c10.test_y.bincount().tolist() == [1] * 10  # 2 a class -> 1 a class
    for bad in (0, -3, 361, 2.5, "7", True):
        with pytest.raises(DataError, match="test_limit"):
            load("digits", test_limit=bad)


def test_unknown_specs_and_bad_image_size(droot):
    with pytest.raises(DataError) as err:
        load("cifar1000", progress=False)
    for known in ("rotated-digits", "cifar10[:DIR]", "cifar100[:DIR]", "tinyimagenet[:DIR]"):
        assert known in str(err.value)
    with pytest.raises(DataError, match="unknown dataset spec"):
        load("rotated-digits:7", progress=False)
    for bad in (0, -64, 31.5, "64"):
        with pytest.raises(DataError, match="image_size"):
            load("digits", image_size=bad)
