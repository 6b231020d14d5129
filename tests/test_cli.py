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
