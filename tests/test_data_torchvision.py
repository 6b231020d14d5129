"""SVHN, STL-10 and Flowers-102 through torchvision's dataset classes, on tiny fixtures in the exact
on-disk layouts torchvision reads; downloads come from a local HTTP server, never the internet.

Integrity: torchvision checks every file against its md5 table, and the fixtures are not the
official files. Rather than switching the check off, the tests put the fixtures' md5s into
torchvision's tables (``expect``), so the real hashing runs and a damaged file is still refused.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import fixtures_data as fx
import numpy as np
import pytest
import torch
from torchvision import datasets as tvd

from hpnb import data as hd
from hpnb import torchvision_data as tvdata
from hpnb.data import DataError, load


@pytest.fixture
def droot(tmp_path, monkeypatch) -> Path:
    """HPNB_DATA points into tmp_path, so nothing touches the repository's data/."""
    root = tmp_path / "hpnb-data"
    monkeypatch.setenv("HPNB_DATA", str(root))
    return root


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(folder, base URL): an HTTP server on 127.0.0.1 serving ``folder``, stopped after the test."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


NOWHERE = "file:///nonexistent-hpnb-fixture/"  # a download from here fails at once, with no network


# --------------------------------------------------------------------------------------------
# torchvision's tables, pointed at the fixtures


def expect_svhn(monkeypatch, base: Path, url: str = NOWHERE) -> None:
    for split in ("train", "test"):
        name = f"{split}_32x32.mat"
        monkeypatch.setitem(tvd.SVHN.split_list, split, [url + name, name, md5(base / name)])


def expect_stl10(monkeypatch, folder: Path, url: str = NOWHERE, archive: Path | None = None) -> None:
    sums = {n: md5(folder / n) for n in tvdata.STL10_FILES}
    monkeypatch.setattr(tvd.STL10, "train_list", [[n, sums[n]] for n in ("train_X.bin", "train_y.bin")]
                        + [["unlabeled_X.bin", "0" * 32]])  # absent from the fixture: never read or hashed
    monkeypatch.setattr(tvd.STL10, "test_list", [[n, sums[n]] for n in ("test_X.bin", "test_y.bin")])
    monkeypatch.setattr(tvd.STL10, "url", url + tvd.STL10.filename)
    if archive is not None:
        monkeypatch.setattr(tvd.STL10, "tgz_md5", md5(archive))


def expect_flowers(monkeypatch, folder: Path, url: str = NOWHERE, archive: Path | None = None) -> None:
    for key in ("label", "setid"):
        name = tvd.Flowers102._file_dict[key][0]
        monkeypatch.setitem(tvd.Flowers102._file_dict, key, (name, md5(folder / name)))
    if archive is not None:
        monkeypatch.setitem(tvd.Flowers102._file_dict, "image", (archive.name, md5(archive)))
    monkeypatch.setattr(tvd.Flowers102, "_download_url_prefix", url)


def no_torchvision_reads(monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("torchvision read the files although the cache should have answered")

    for cls in (tvd.SVHN, tvd.STL10, tvd.Flowers102):  # their tables stay, for the cache key
        monkeypatch.setattr(cls, "__init__", boom)


# --------------------------------------------------------------------------------------------
# SVHN


def test_svhn_reads_torchvisions_layout_and_caches(tmp_path, droot, monkeypatch):
    base = fx.write_svhn(tmp_path / "svhn-here")
    expect_svhn(monkeypatch, base)
    d = load(f"svhn:{base}", progress=False)
    assert d.name == "svhn" and d.classes == [str(c) for c in range(10)]
    assert d.train_x.shape == (fx.SVHN_TRAIN, 3, 32, 32) and d.test_x.shape == (fx.SVHN_TEST, 3, 32, 32)
    assert d.train_x.dtype == torch.uint8 and d.train_y.dtype == torch.long
    # Label 10 is the digit 0.
    assert d.train_y.tolist() == [fx.svhn_digit(k) for k in range(fx.SVHN_TRAIN)] and 0 in d.train_y.tolist()
    assert d.test_y.tolist() == [fx.svhn_digit(k) for k in range(fx.SVHN_TRAIN, fx.SVHN_TRAIN + fx.SVHN_TEST)]
    for k in (0, 5):
        assert torch.equal(d.train_x[k], torch.from_numpy(fx.svhn_image(k)).permute(2, 0, 1))
    assert torch.equal(d.test_x[2], torch.from_numpy(fx.svhn_image(fx.SVHN_TRAIN + 2)).permute(2, 0, 1))
    assert int(d.train_x[3, 0, 0, 1]) == 255 and int(d.train_x[3, 0, 1, 0]) != 255  # red, row 0, column 1
    np.testing.assert_allclose(d.mean, hd.channel_stats(d.train_x)[0])
    assert "torchvision.datasets.SVHN" in d.source and "label 10 (digit 0) read as 0" in d.source

    no_torchvision_reads(monkeypatch)
    again = load(f"svhn:{base}", progress=False)
    assert torch.equal(again.train_x, d.train_x) and again.source == d.source


def test_svhn_default_dir_is_downloaded_and_verified(droot, server, monkeypatch):
    served, url = server
    fx.write_svhn(served)
    expect_svhn(monkeypatch, served, url)
    d = load("svhn", progress=False)
    assert listing(droot / "svhn") == ["test_32x32.mat", "train_32x32.mat"]  # no temp folder left
    assert (droot / "svhn" / "train_32x32.mat").read_bytes() == (served / "train_32x32.mat").read_bytes()
    assert len(d.train_y) == fx.SVHN_TRAIN and len(d.test_y) == fx.SVHN_TEST

    # Only the file that is missing is downloaded; the other is not fetched again.
    (droot / "svhn" / "test_32x32.mat").unlink()
    (served / "train_32x32.mat").unlink()
    assert len(load("svhn", progress=False).test_y) == fx.SVHN_TEST


def test_svhn_checksum_mismatch_is_refused_and_kept(tmp_path, droot, monkeypatch):
    base = fx.write_svhn(tmp_path / "s")
    expect_svhn(monkeypatch, base)
    path = base / "test_32x32.mat"
    raw = bytearray(path.read_bytes())
    good = md5(path)
    raw[-5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"svhn: checksum mismatch for .*test_32x32\.mat: md5 {md5(path)}, "
                                        rf"expected {good}") as err:
        load(f"svhn:{base}", progress=False)
    assert "\n" not in str(err.value)
    assert path.read_bytes() == bytes(raw)  # a user's file is reported, never replaced


# --------------------------------------------------------------------------------------------
# STL-10


def test_stl10_labelled_splits_in_column_major_layout(tmp_path, droot, monkeypatch):
    folder = fx.write_stl10(tmp_path / "stl")
    expect_stl10(monkeypatch, folder)
    d = load(f"stl10:{folder.parent}", progress=False)
    assert d.name == "stl10" and d.classes == fx.STL10_NAMES and d.num_classes == 10
    assert d.train_x.shape == (fx.STL10_TRAIN, 3, 96, 96) and d.test_x.shape == (fx.STL10_TEST, 3, 96, 96)
    assert d.train_y.tolist() == [fx.stl10_label(k) for k in range(fx.STL10_TRAIN)]  # 1..10 -> 0..9
    assert d.test_y.tolist() == [fx.stl10_label(k) for k in range(fx.STL10_TRAIN, fx.STL10_TRAIN + fx.STL10_TEST)]
    for k in (0, 4):
        assert torch.equal(d.train_x[k], torch.from_numpy(fx.stl10_image(k)))
    assert torch.equal(d.test_x[3], torch.from_numpy(fx.stl10_image(fx.STL10_TRAIN + 3)))
    assert int(d.train_x[1, 0, 0, 1]) == 255 and int(d.train_x[1, 0, 1, 0]) != 255  # not transposed
    assert not (folder / "unlabeled_X.bin").exists() and "unlabelled images and folds unused" in d.source

    no_torchvision_reads(monkeypatch)
    assert torch.equal(load(f"stl10:{folder.parent}", progress=False).test_x, d.test_x)


def test_stl10_download_extracts_and_reuses_the_archive(tmp_path, droot, server, monkeypatch):
    served, url = server
    folder = fx.write_stl10(tmp_path / "src")
    archive = fx.write_tar_gz(folder, served / tvd.STL10.filename)
    expect_stl10(monkeypatch, folder, url, archive)
    d = load("stl10", progress=False)
    home = droot / "stl10"
    assert sorted(p.name for p in home.iterdir()) == ["stl10_binary", "stl10_binary.tar.gz"]
    assert (home / "stl10_binary.tar.gz").read_bytes() == archive.read_bytes()
    assert torch.equal(d.train_x[0], torch.from_numpy(fx.stl10_image(0)))

    # The folder gone, the archive still here and the server down: extracted again, nothing downloaded.
    shutil.rmtree(home / "stl10_binary")
    monkeypatch.setattr(tvd.STL10, "url", NOWHERE + tvd.STL10.filename)
    assert torch.equal(load("stl10", progress=False).test_y, d.test_y)
    assert sorted(p.name for p in home.iterdir()) == ["stl10_binary", "stl10_binary.tar.gz"]

    # A bad archive here is moved aside (as CIFAR's are), and the failed download says what to put where.
    shutil.rmtree(home / "stl10_binary")
    (home / "stl10_binary.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(DataError, match="checksum mismatch.*moved it to .*stl10_binary.tar.gz.corrupt"):
        load("stl10", progress=False)
    with pytest.raises(DataError, match="could not download it from"):
        load("stl10", progress=False)
    assert listing(home) == ["stl10_binary.tar.gz.corrupt"]


def test_stl10_incomplete_folder_names_the_missing_file(tmp_path, droot, monkeypatch):
    folder = fx.write_stl10(tmp_path / "stl")
    expect_stl10(monkeypatch, folder)
    (folder / "test_y.bin").unlink()
    with pytest.raises(DataError, match=r"stl10: .*stl10_binary/test_y\.bin is missing; .* must hold train_X\.bin, "
                                        r"train_y\.bin, test_X\.bin, test_y\.bin and class_names\.txt") as err:
        load(f"stl10:{folder.parent}", progress=False)
    assert "\n" not in str(err.value)
    assert listing(folder.parent) == ["stl10_binary"] + [f"stl10_binary/{n}" for n in (
        "class_names.txt", "fold_indices.txt", "test_X.bin", "train_X.bin", "train_y.bin")]  # nothing downloaded


def test_stl10_wrong_label_or_size_is_a_data_error(tmp_path, droot, monkeypatch):
    folder = fx.write_stl10(tmp_path / "stl")
    labels = (folder / "train_y.bin").read_bytes()
    (folder / "train_y.bin").write_bytes(bytes([0] + [1] * (fx.STL10_TRAIN - 1)))  # 0 is no STL-10 label
    expect_stl10(monkeypatch, folder)
    with pytest.raises(DataError, match="labels outside 0..9"):
        load(f"stl10:{folder.parent}", progress=False)
    (folder / "train_y.bin").write_bytes(labels)
    (folder / "test_X.bin").write_bytes(b"\x00" * 1000)  # not a whole 3x96x96 image
    expect_stl10(monkeypatch, folder)
    with pytest.raises(DataError, match="stl10: cannot read"):
        load(f"stl10:{folder.parent}", progress=False)


# --------------------------------------------------------------------------------------------
# Flowers-102


def test_flowers102_official_split_resized_and_cropped(tmp_path, droot, monkeypatch):
    folder = fx.write_flowers102(tmp_path / "fl")
    expect_flowers(monkeypatch, folder)
    d = load(f"flowers102:{folder.parent}", progress=False)
    size = tvdata.FLOWERS102_SIZE
    assert size == 224 and d.name == "flowers102"
    assert d.num_classes == 102 and d.classes == tvd.Flowers102.classes
    train, test = fx.FLOWERS_SPLITS["trnid"], fx.FLOWERS_SPLITS["tstid"]  # valid is not used
    assert d.train_x.shape == (len(train), 3, size, size) and d.test_x.shape == (len(test), 3, size, size)
    assert d.train_y.tolist() == [fx.FLOWERS[i - 1][1] - 1 for i in train]  # imagelabels.mat's 1..102 -> 0..101
    assert d.test_y.tolist() == [fx.FLOWERS[i - 1][1] - 1 for i in test]
    # Shorter side to 224, then the centre: the 90x30 image's middle band fills the crop (a plain
    # resize to 224x224 would squash all three bands in); only its edges blend with the neighbours.
    green = torch.tensor([20, 100 + 10 * 1, 20]).view(3, 1, 1)
    assert (d.train_x[0, :, :, 16:-16].float() - green).abs().max() <= 12
    for x in (*d.train_x, *d.test_x):  # every image's centre is its middle band, green
        centre = x[:, size // 2, size // 2].int()
        assert centre[1] > 90 and centre[0] < 60 and centre[2] < 60
    assert f"{size}x{size}" in d.source and "trnid" in d.source and "valid unused" in d.source

    no_torchvision_reads(monkeypatch)
    assert torch.equal(load(f"flowers102:{folder.parent}", progress=False).train_x, d.train_x)


def test_flowers102_download_into_the_default_dir(tmp_path, droot, server, monkeypatch):
    served, url = server
    folder = fx.write_flowers102(tmp_path / "src")
    archive = fx.write_tgz(folder, served / "102flowers.tgz")  # jpg/ at its top, as the official tgz
    for name in ("imagelabels.mat", "setid.mat"):
        shutil.copy(folder / name, served / name)
    expect_flowers(monkeypatch, folder, url, archive)
    d = load("flowers102", progress=False)
    home = droot / "flowers102"
    assert sorted(p.name for p in home.iterdir()) == ["flowers-102"]  # no temp folder left
    assert sorted(p.name for p in (home / "flowers-102").iterdir()) == [
        "102flowers.tgz", "imagelabels.mat", "jpg", "setid.mat"]
    assert len(list((home / "flowers-102" / "jpg").iterdir())) == len(fx.FLOWERS)
    assert len(d.train_y) == len(fx.FLOWERS_SPLITS["trnid"])


def test_flowers102_missing_image_or_mat(tmp_path, droot, monkeypatch):
    folder = fx.write_flowers102(tmp_path / "fl")
    expect_flowers(monkeypatch, folder)
    (folder / "jpg" / "image_00009.jpg").unlink()
    with pytest.raises(DataError, match=r"flowers102: .*image_00009\.jpg is missing \(setid\.mat lists it\)"):
        load(f"flowers102:{folder.parent}", progress=False)
    (folder / "setid.mat").unlink()
    with pytest.raises(DataError, match=r"flowers-102/setid\.mat is missing; put jpg/ .*imagelabels\.mat and "
                                        r"setid\.mat .*in .*flowers-102/"):
        load(f"flowers102:{folder.parent}", progress=False)


# --------------------------------------------------------------------------------------------
# A missing folder, offline: one line saying what to put where


@pytest.mark.parametrize("kind, expected", [
    ("svhn", ["train_32x32.mat and test_32x32.mat", "torchvision.datasets.SVHN"]),
    ("stl10", ["stl10_binary.tar.gz", "stl10_binary/ folder with train_X.bin, train_y.bin, test_X.bin, "
                                      "test_y.bin and class_names.txt", "torchvision.datasets.STL10"]),
    ("flowers102", ["put jpg/ (the official 102flowers.tgz extracted", "imagelabels.mat and setid.mat",
                    "flowers-102/, as torchvision.datasets.Flowers102"]),
])
def test_missing_folder_is_one_clear_line(tmp_path, droot, monkeypatch, kind, expected):
    monkeypatch.setitem(tvd.SVHN.split_list, "train", [NOWHERE + "train_32x32.mat", *tvd.SVHN.split_list["train"][1:]])
    monkeypatch.setattr(tvd.STL10, "url", NOWHERE + tvd.STL10.filename)
    monkeypatch.setattr(tvd.Flowers102, "_download_url_prefix", NOWHERE)
    directory = tmp_path / f"no-{kind}"
    with pytest.raises(DataError) as err:
        load(f"{kind}:{directory}", progress=False)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{kind}: {directory}")
    assert "torchvision could not download it from file:///nonexistent-hpnb-fixture/" in text
    assert f"offline, put " in text and f" in {directory}" in text
    for part in expected:
        assert part in text, (part, text)
    assert listing(directory) == []  # no partial download, no temp folder
    assert listing(droot) == []


def test_specs_are_known(droot):
    for spec in ("svhn[:DIR]", "stl10[:DIR]", "flowers102[:DIR]"):
        assert spec in hd.KNOWN_SPECS
    from hpnb.reproduce import parse_data

    assert parse_data(["svhn=svhn:/somewhere/svhn"]) == {"svhn": "svhn:/somewhere/svhn"}
    from hpnb import experiments

    # The tables' cost model and the rows' notes assume the sizes the loaders produce.
    assert experiments.NATIVE_SIZE["flowers102"] == tvdata.FLOWERS102_SIZE
    assert experiments.NATIVE_SIZE["svhn"] == 32 and experiments.NATIVE_SIZE["stl10"] == 96
    assert {k: experiments.NUM_CLASSES[k] for k in hd.TORCHVISION_KINDS} == {"svhn": 10, "stl10": 10, "flowers102": 102}
