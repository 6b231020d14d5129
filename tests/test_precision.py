"""The precision switch: what auto picks where, that a run records it, and that bf16 trains as well."""

import os
import subprocess
import sys

import pytest
import torch

from hpnb import data as hdata
from hpnb import precision, train
from hpnb.claims import compare

CPU = torch.device("cpu")


def cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
    return path


@pytest.mark.parametrize("flags,bf16", [
    ("avx2 avx512f avx512_bf16", True),
    ("avx2 amx_tile amx_bf16", True),
    ("avx2 avx512f", False),   # AVX-512 alone emulates bfloat16: slower than float32
    ("", False),
])
def test_auto_on_a_cpu_follows_its_native_bfloat16_flags(tmp_path, flags, bf16):
    chosen = precision.choose("auto", CPU, cpuinfo(tmp_path, flags))
    assert chosen.bf16 is bf16 and chosen.channels_last is bf16
    assert chosen.reason.startswith("auto: ")
    if bf16:
        assert flags.split()[-1] in chosen.reason  # the reason names the flag it found
    else:
        assert "no native bfloat16" in chosen.reason


def test_auto_without_cpuinfo_stays_fp32(tmp_path):
    assert not precision.choose("auto", CPU, tmp_path / "absent").bf16


def test_auto_on_cuda_is_bf16_and_forcing_wins_everywhere(tmp_path):
    assert precision.choose("auto", torch.device("cuda")).bf16
    with_flags = cpuinfo(tmp_path, "avx512_bf16")
    assert not precision.choose("fp32", CPU, with_flags).bf16
    assert precision.choose("bf16", CPU, cpuinfo(tmp_path, "")).bf16
    assert not precision.choose("fp32", torch.device("cuda")).bf16


def test_describe_names_what_a_chapter_runs_at_and_why():
    assert precision.describe("cuda") == "bf16 (auto: CUDA)"
    assert precision.describe("cpu", "fp32") == "fp32 (asked for (fp32))"
    assert precision.describe("cpu") == f"{precision.choose('auto', CPU).name} ({precision.choose('auto', CPU).reason})"


def test_bad_precision_is_one_clear_error():
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        precision.choose("fp16", CPU)
    with pytest.raises(train.ConfigError, match="precision must be auto, fp32 or bf16, got 'half'"):
        train.Config(precision="half").resolved()
    res = subprocess.run([sys.executable, "-m", "hpnb", "train", "--precision", "half", "--out", "x"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "precision must be auto, fp32 or bf16" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_bf16_autocast_actually_runs_the_forward_pass_in_bfloat16():
    net = torch.nn.Linear(4, 3)
    with precision.choose("bf16", CPU).autocast(CPU):
        assert net(torch.randn(2, 4)).dtype == torch.bfloat16
    with precision.choose("fp32", CPU).autocast(CPU):
        assert net(torch.randn(2, 4)).dtype == torch.float32


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    os.environ.setdefault("HPNB_DATA", str(tmp_path_factory.mktemp("data")))
    return hdata.load("digits", seed=0, progress=False)


def test_bf16_on_digits_stays_within_the_seed_spread_of_fp32(digits):
    """Same configs, three seeds each: bf16's final test accuracy is not below fp32's beyond the
    spread (never less than 1.5 points, the step of two seeds' worth of test images disagreeing)."""
    acc = {}
    for prec in ("fp32", "bf16"):
        runs = [train.train(train.Config(dataset="digits", method="hpn", arch="digits-cnn", dim=16, epochs=10,
                                         seed=s, precision=prec), progress=False, data=digits) for s in range(3)]
        assert all(r.results["provenance"]["precision"]["precision"] == prec for r in runs)
        acc[prec] = [r.results["final"]["test_acc"] for r in runs]
    assert min(acc["bf16"]) > 0.95, acc  # it learns
    verdict = compare(acc["bf16"], acc["fp32"], resolution=0.015)
    assert verdict.verdict != "lower", (acc, verdict)
