"""The command line as a user runs it: JSON on stdout, one clear line and exit 2 on bad input."""

import json
import subprocess
import sys

import pytest


def run(*args: str, env_data=None) -> subprocess.CompletedProcess:
    env = None
    if env_data is not None:
        import os

        env = {**os.environ, "HPNB_DATA": str(env_data)}
    return subprocess.run([sys.executable, "-m", "hpnb", *args], capture_output=True, text=True, env=env)


def test_prototypes_prints_separation_json(tmp_path):
    out = tmp_path / "P.pt"
    res = run("prototypes", "--classes", "100", "--dim", "50", "--method", "best", "--out", str(out))
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)
    assert abs(stats["max_cos"]) <= 1e-4 and stats["known_optimum"] == 0.0
    assert {"min_cos", "dist_min", "dist_mean", "dist_max", "nn_min_deg", "nn_mean_deg", "nn_std_deg"} <= set(stats)
    import torch

    assert torch.load(out, weights_only=True).shape == (100, 50)


def test_iterative_method_with_seed_and_steps(tmp_path):
    res = run("prototypes", "--classes", "20", "--dim", "3", "--method", "hpn", "--seed", "2", "--steps", "50",
              env_data=tmp_path)
    assert res.returncode == 0, res.stderr
    assert -1.0 <= json.loads(res.stdout)["max_cos"] < 1.0


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--classes", "1", "--dim", "3"], "num_classes must be an integer >= 2"),
        (["--classes", "5", "--dim", "0"], "dim must be an integer >= 1"),
        (["--classes", "5", "--dim", "3", "--method", "magic"], "unknown method 'magic'"),
        (["--classes", "10", "--dim", "3", "--method", "simplex"], "simplex needs num_classes <= dim + 1"),
        (["--classes", "ten", "--dim", "3"], "invalid int value"),
    ],
)
def test_bad_arguments_give_one_line_and_no_traceback(args, needle):
    res = run("prototypes", *args)
    assert res.returncode == 2
    assert res.stdout == ""
    assert needle in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_help_says_what_each_unset_field_means():
    text = " ".join(run("train", "--help").stdout.split())
    assert "--head HEAD default: None (linear; none for learned prototypes at the backbone's feature width)" in text
    assert "--train-limit TRAIN_LIMIT default: None (every training image)" in text
    assert "--prototypes PROTOTYPES default: None (from the method's preset)" in text


@pytest.mark.parametrize("args", [
    ["--help"], ["train", "--help"], ["reproduce", "--help"], ["prototypes", "--help"],
    ["train", "--epochs", "x"], ["prototypes", "--classes", "10"], ["reproduce"], ["nope"],
])
def test_help_and_argument_errors_answer_before_torch_is_imported(args):
    """``import torch`` alone takes seconds on a cold machine; help and bad arguments must not wait for it."""
    probe = ("import runpy, sys\n"
             "sys.argv = ['hpnb', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('hpnb', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "sys.stdout = sys.__stdout__\n"
             "print('TORCH-IMPORTED' if 'torch' in sys.modules else 'TORCH-ABSENT', code)\n")
    res = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("TORCH-ABSENT"), (last, res.stderr[-500:])
    assert last.split()[1] in ("0", "2"), last  # help exits 0, argparse errors 2
