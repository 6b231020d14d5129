"""Runs that share a machine, bad numbers, full disks: nothing lost, every mistake one line (issue 11)."""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hpnb import prototypes, train
from hpnb.data import DataError, load
from hpnb.files import FolderBusy, run_lock, write_atomic


def cli(*args: str, cwd: Path | None = None, data: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **({"HPNB_DATA": str(data)} if data else {})}
    return subprocess.run([sys.executable, "-m", "hpnb", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def one_line_error(res: subprocess.CompletedProcess, needle: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.stderr, res.stderr


# --- 1. concurrent writers ---------------------------------------------------------------------

def test_write_atomic_replaces_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_atomic(target, "old")

    def full_disk(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(target, full_disk)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_a_locked_run_folder_refuses_a_second_writer(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        code = f"from hpnb.files import run_lock\nwith run_lock({str(tmp_path)!r}): pass"
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert res.returncode != 0 and "FolderBusy" in res.stderr
    with run_lock(tmp_path):   # released on exit, killed or not (flock)
        pass


def test_two_runs_on_one_out_give_one_run_and_one_refusal(tmp_path: Path) -> None:
    args = ["train", "--dataset", "digits", "--method", "hpn", "--epochs", "2", "--quiet"]
    for trial in range(3):
        out = tmp_path / f"run{trial}"
        procs = [subprocess.Popen([sys.executable, "-m", "hpnb", *args, "--out", str(out)], text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={**os.environ, "OMP_NUM_THREADS": "1", "HPNB_DATA": str(tmp_path / "data")})
                 for _ in range(2)]
        results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 2], results
        refusal = next(err for code, _, err in results if code == 2)
        assert ("being written by another run" in refusal or "already holds a run" in refusal), refusal
        assert len(refusal.strip().splitlines()) == 1
        assert json.loads((out / "results.json").read_text())["final"]["epoch"] == 2


def _place(cache: str) -> float:
    P = prototypes.place(12, 4, "best", seed=0, cache_dir=cache)
    return float(P.sum())


def test_processes_placing_on_a_cold_cache_never_crash(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        sums = pool.map(_place, [str(tmp_path)] * 8)
    assert len(set(sums)) == 1
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_an_unreadable_prototype_cache_entry_is_a_miss(tmp_path: Path) -> None:
    P = prototypes.place(6, 3, "best", seed=0, cache_dir=tmp_path)
    entry = next(p for p in tmp_path.rglob("*.pt"))
    entry.write_bytes(b"\0" * 10)
    assert torch.equal(prototypes.place(6, 3, "best", seed=0, cache_dir=tmp_path), P)
    assert torch.load(entry, weights_only=True)["prototypes"].shape == (6, 3)   # repaired


# --- 2. non-finite numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("field,value,needle", [
    ("lr", math.nan, "lr must be a finite number > 0"), ("lr", math.inf, "lr must be a finite number > 0"),
    ("lr", -1.0, "lr must be a finite number > 0"), ("lr", 0.0, "lr must be a finite number > 0"),
    ("alpha", 0.0, "alpha"), ("alpha", math.nan, "alpha"), ("lambda_pos", -0.1, "lambdas"),
])
def test_config_rejects_bad_numbers(field: str, value: float, needle: str) -> None:
    with pytest.raises(train.ConfigError, match=needle):
        train.Config(method="dpnp", **{field: value}).resolved()


def test_a_diverging_run_stops_with_one_line_and_writes_no_results(tmp_path: Path) -> None:
    res = cli("train", "--dataset", "digits", "--epochs", "2", "--lr", "1e10", "--out", str(tmp_path / "r"),
              "--quiet", data=tmp_path / "data")
    one_line_error(res, "the loss became non-finite at epoch 1, step")
    assert not (tmp_path / "r" / "results.json").exists() and not (tmp_path / "r" / "checkpoint.pt").exists()


def test_results_are_strict_json() -> None:
    assert train._strict({"a": [math.nan, 1.0], "b": math.inf, "c": "x"}) == {"a": [None, 1.0], "b": None, "c": "x"}


# --- 3-4. overwrite and resume -----------------------------------------------------------------

def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path: Path) -> None:
    cfg = train.Config(dataset="digits", method="hmpn", epochs=1, train_limit=200, test_limit=100)
    out = tmp_path / "run"
    train.train(cfg, out, progress=False)
    with pytest.raises(train.ConfigError, match="already holds a run"):
        train.train(cfg, out, progress=False)
    train.train(cfg, out, overwrite=True, progress=False)
    with pytest.raises(train.ConfigError, match="not the current directory"):
        train.train(cfg, "", progress=False)


def test_resume_with_more_epochs_continues_to_the_same_result(tmp_path: Path) -> None:
    base = dict(dataset="digits", method="hmpn", train_limit=300, test_limit=100)   # constant Adam: no steps
    train.train(train.Config(epochs=1, **base), tmp_path / "a", progress=False)
    resumed = train.train(train.Config(epochs=2, **base), tmp_path / "a", resume=True, progress=False).results
    straight = train.train(train.Config(epochs=2, **base), tmp_path / "b", progress=False).results
    assert resumed["provenance"]["resumed_from_epoch"] == 1
    assert [r["test_acc"] for r in resumed["history"]] == [r["test_acc"] for r in straight["history"]]


def test_resume_refuses_a_longer_run_whose_schedule_already_differs(tmp_path: Path) -> None:
    base = dict(dataset="digits", method="hpn", train_limit=300, test_limit=100)    # steps at 40% and 80%
    train.train(train.Config(epochs=3, **base), tmp_path / "a", progress=False)
    with pytest.raises(train.ConfigError, match="schedule's steps"):
        train.train(train.Config(epochs=6, **base), tmp_path / "a", resume=True, progress=False)
    with pytest.raises(train.ConfigError, match="differs in dim"):
        train.train(train.Config(epochs=3, dim=8, **base), tmp_path / "a", resume=True, progress=False)


def test_unreadable_checkpoints_say_what_to_do(tmp_path: Path) -> None:
    cfg = train.Config(dataset="digits", epochs=1, train_limit=200, test_limit=100)
    for name, payload in [("empty", b""), ("random", os.urandom(4096)), ("foreign", None)]:
        out = tmp_path / name
        out.mkdir()
        if payload is None:
            torch.save({"weights": torch.zeros(3)}, out / "checkpoint.pt")
        else:
            (out / "checkpoint.pt").write_bytes(payload)
        with pytest.raises(train.ConfigError, match="delete it or pass --overwrite"):
            train.train(cfg, out, resume=True, progress=False)


# --- 5. one line, exit 2, nothing written --------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["--lr", "nan"], "lr must be a finite number"),
    (["--lr", "-1"], "lr must be a finite number"),
    (["--method", "dpnp", "--alpha", "0"], "alpha"),
    (["--image-size", "100000"], "image_size must be between"),
    (["--image-size", "1"], "image_size must be between"),
    (["--device", "tpu9"], "unknown device 'tpu9'"),
    (["--dim", "1"], "dim 1 holds only two directions"),
    (["--train-limit", "5"], "below the 10 classes"),
])
def test_bad_train_arguments_give_one_line_and_write_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "run"
    res = cli("train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(out), *args,
              data=tmp_path / "data")
    one_line_error(res, needle)
    assert not out.exists()


def test_out_that_is_a_file_or_read_only(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    one_line_error(cli("train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "afile"),
                       data=tmp_path / "data"), "is not a folder")
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    one_line_error(cli("train", "--dataset", "digits", "--epochs", "1", "--out", str(ro / "run"),
                       data=tmp_path / "data"), "cannot create the run folder")


def test_a_one_class_folder_is_refused_before_training(tmp_path: Path) -> None:
    from PIL import Image

    for split in ("train", "test"):
        (tmp_path / "img" / split / "only").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "img" / split / "only" / f"{i}.png")
    for method in ("ce", "dpnp"):
        with pytest.raises(train.ConfigError, match="at least 2"):
            train.train(train.Config(dataset=f"imagefolder:{tmp_path / 'img'}", method=method, arch="resnet20",
                                     epochs=1), progress=False)


# --- 7. symlink loops ------------------------------------------------------------------------------

def test_a_symlink_loop_in_an_image_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    from PIL import Image

    monkeypatch.setenv("HPNB_DATA", str(tmp_path / "data"))
    root = tmp_path / "img"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (8, 8), (i, 0, 0)).save(root / split / cls / f"{i}.png")
    (root / "train" / "a" / "loop").symlink_to("..")
    with pytest.raises(DataError, match="links back to"):
        load(f"imagefolder:{root}", progress=False)


# --- 6. full disk: a cache that cannot be written is only a lost optimisation ----------------------

def test_full_disk_loses_only_the_caches(tmp_path: Path, monkeypatch) -> None:
    import hpnb.files

    def no_space(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    from PIL import Image

    root = tmp_path / "img"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
            Image.new("RGB", (8, 8), (len(cls), 0, 0)).save(root / split / cls / "0.png")
    monkeypatch.setattr(hpnb.files, "write_atomic", no_space)
    monkeypatch.setenv("HPNB_DATA", str(tmp_path / "data"))
    with pytest.warns(UserWarning, match="data cache not written"):
        data = load(f"imagefolder:{root}", progress=False)
    assert len(data.train_y) == 2
    with pytest.warns(UserWarning, match="prototype cache not written"):
        P = prototypes.place(5, 3, "best", seed=0, cache_dir=tmp_path / "protos")
    assert P.shape == (5, 3) and not list((tmp_path / "protos").rglob("*.tmp"))
