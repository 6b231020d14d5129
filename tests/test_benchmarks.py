"""The benchmark scripts run with tiny settings and write well-formed JSON with positive timings."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def run_script(name: str, tmp_path: Path, *args: str, timeout: int = 120) -> dict:
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "HPNB_DATA": str(tmp_path / "data")}  # prototype caches go to the test's folder
    proc = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args, "--threads", "1", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == name
    prov = result["provenance"]
    assert prov["git_revision"] and prov["torch"] and prov["threads"] == 1 and prov["device"] == "cpu"
    return result


def positive(x) -> bool:
    return isinstance(x, (int, float)) and x > 0 and x == x and x != float("inf")


def test_pipeline_runs_both_pipelines_on_digits(tmp_path):
    res = run_script("pipeline", tmp_path, "--dataset", "digits", "--arch", "digits-cnn", "--dim", "8",
                     "--train-limit", "128", "--batch-size", "64", "--warmup-epochs", "1", "--epochs", "1",
                     "--workers", "1", "--test-images", "50", "--device", "cpu", "--rounds", "1")
    (one,) = res["rounds"]
    for part in ("hpnb", "plain", "model_only"):
        assert positive(res[part]["images_per_s"]) and res[part]["includes"], part
        assert positive(one[part]["seconds"]) and one[part]["images"] == res[part]["images_per_round"] == 128, part
        assert one[part]["cpu_cores_used"] >= 0, part
    assert len(one["hpnb"]["per_epoch_images_per_s"]) == 2  # warm-up + measured
    assert one["plain"]["warmup_images"] >= 128 and one["plain"]["workers"] == 1
    assert res["ratio_hpnb_over_plain"] == pytest.approx(res["hpnb"]["images_per_s"] / res["plain"]["images_per_s"])
    cfg = res["settings"]["config"]
    assert (cfg["method"], cfg["augment"], cfg["mixing"], cfg["recipe"]) == ("hmpn", "randaugment", True, "hmpn")


def test_hungarian_times_solve_and_raw_solver(tmp_path):
    res = run_script("hungarian", tmp_path, "--classes", "100", "300", "--repeats", "2")
    rows = res["rows"]
    assert [(r["scenario"], r["classes"]) for r in rows] == [
        ("random", 100), ("random", 300), ("near", 100), ("near", 300)]
    for r in rows:
        assert r["dim"] == r["classes"] - 1 and r["repeats"] == 2 and len(r["solve_s_all"]) == 2
        assert positive(r["solve_s"]) and positive(r["lsa_s"])
        assert 0.0 <= r["changed_fraction"] <= 1.0
    assert all(r["changed_fraction"] == 0.0 for r in rows if r["scenario"] == "near")


def test_solvers_times_one_small_case(tmp_path):
    res = run_script("solvers", tmp_path, "--cases", "10x3", "--methods", "best", "riesz", "simplex", "random",
                     "--steps", "30")
    rows = {r["method"]: r for r in res["rows"]}
    assert set(rows) == {"best", "riesz", "random"}  # simplex cannot place 10 points in 3 dimensions
    for r in rows.values():
        assert (r["num_classes"], r["dim"]) == (10, 3) and positive(r["seconds"])
        assert -1.0 <= r["max_cos"] <= 1.0 and r["known_optimum"] == pytest.approx(0.4043, abs=1e-3)
        assert r["gap"] == pytest.approx(r["max_cos"] - r["known_optimum"])
    assert rows["riesz"]["steps"] == 30 and rows["random"]["steps"] is None


def test_solvers_follow_chapter_1s_cases():
    spec = importlib.util.spec_from_file_location("bench_solvers", BENCH / "solvers.py")
    sys.path.insert(0, str(BENCH))
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    params = module.chapter_parameters()
    assert params["source"].endswith("01_prototype_geometry.ipynb")  # read from the notebook, not the fallback
    assert [100, 100] in params["table_cases"] and "riesz" in params["table_methods"] and params["large_cases"]
    from hpnb.spherical_codes import KNOWN_CODES

    assert sorted(map(tuple, params["known_cases"])) == sorted(KNOWN_CODES)
    assert sorted(map(tuple, module.FALLBACK["known_cases"])) == sorted(KNOWN_CODES)


def test_gpu_check_runs_in_its_cpu_mode(tmp_path):
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HPNB_DATA": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, str(BENCH / "gpu_check.py"), "--device", "cpu", "--tiny", "--threads", "1",
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = json.loads(out.read_text())
    assert res["benchmark"] == "gpu_check" and res["ok"] and res["tiny"]
    from hpnb.train import PRESETS

    assert [p["method"] for p in res["presets"]] == list(PRESETS) and all(p["ok"] for p in res["presets"])
    assert res["bf16_vs_fp32"]["relative_difference"] < 0.05 and positive(res["pipeline"]["ratio_hpnb_over_plain"])
    assert all(positive(b["images_per_s"]) for b in res["backbones"])
    assert {p["table"] for p in res["projected"]} >= {"hmpn-cifar10", "cross-cifar10"}
