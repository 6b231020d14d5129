"""``python -m hpnb reproduce``: runs book/08 per row with papermill, skips finished runs, exports small
JSON that book/09 renders next to the paper's numbers. A 2-row digits table keeps it to seconds."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hpnb import cli, experiments, reproduce
from hpnb.experiments import Row, Table

ROOT = Path(__file__).resolve().parent.parent
BASE = {"dataset": "digits", "arch": "digits-cnn", "dim": 16, "epochs": 1, "batch_size": 64,
        "prototypes": "simplex", "train_limit": 200, "device": "cpu"}
TINY = Table(
    key="tiny-digits", paper="HMPN", source="Test Table 9", title="digits, two rows, one epoch",
    metrics=("test_acc", "test_sq_dissim"), seeds=1, statistic="best",
    rows=(Row("Dissimilarity baseline (Eq. 1)", {**BASE, "method": "hpn"}, {"test_acc": 0.8765, "test_sq_dissim": 321}),
          Row("Dissimilarity, mixed prototypes (Eq. 3)", {**BASE, "method": "hmpn"}, {"test_acc": 0.9123, "test_sq_dissim": 123})),
)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setitem(experiments.TABLES, TINY.key, TINY)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return {"runs": tmp_path / "runs", "results": tmp_path / "results"}


def _main(capsys, *args):
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_runner_executes_exports_skips_and_book_renders(tiny, capsys, tmp_path):
    args = ["reproduce", TINY.key, "--profile", "paper", "--threads", "1", "--out-root", str(tiny["runs"]),
            "--results-dir", str(tiny["results"]), "--quiet"]
    rc, out, err = _main(capsys, *args)
    assert rc == 0, err
    summary = json.loads(out)
    assert [r["status"] for r in summary["runs"]] == ["ran", "ran"]
    run_dirs = [tiny["runs"] / TINY.key / "paper" / s / "seed0"
                for s in ("dissimilarity-baseline-eq-1", "dissimilarity-mixed-prototypes-eq-3")]
    for d in run_dirs:
        assert {"experiment.ipynb", "results.json", "checkpoint.pt"} <= {p.name for p in d.iterdir()}
        res = json.loads((d / "results.json").read_text())
        assert res["experiment"]["table"] == TINY.key and res["data"]["train"] == 200 and len(res["history"]) == 1
    executed = (run_dirs[0] / "experiment.ipynb").read_text()  # the executed notebook is kept, with the paper's number
    assert "paper (tiny-digits, its full schedule)" in executed and "Dissimilarity baseline (Eq. 1)" in executed
    exports = sorted((tiny["results"] / TINY.key / "paper").glob("*.json"))
    assert [p.name for p in exports] == ["dissimilarity-baseline-eq-1-seed0.json",
                                         "dissimilarity-mixed-prototypes-eq-3-seed0.json"]
    exp = json.loads(exports[0].read_text())
    assert set(exp) == {"experiment", "config", "data", "history", "units", "best", "final", "provenance"}
    assert exp["experiment"]["paper_values"] == {"test_acc": 0.8765, "test_sq_dissim": 321}
    assert exp["config"]["method"] == "hpn" and exp["config"]["mixing"] is False
    assert {"device", "device_name", "git_revision", "wall_seconds"} <= set(exp["provenance"])
    assert exports[0].stat().st_size < 20_000

    # Second call: nothing re-executed (same files, same mtimes), the summary says skipped.
    mtimes = {p: p.stat().st_mtime_ns for d in run_dirs for p in d.iterdir()}
    rc, out, err = _main(capsys, *args)
    assert rc == 0, err
    assert [r["status"] for r in json.loads(out)["runs"]] == ["skipped", "skipped"]
    assert {p: p.stat().st_mtime_ns for d in run_dirs for p in d.iterdir()} == mtimes
    rc, out, _ = _main(capsys, *args, "--list")
    assert rc == 0 and [r["status"] for r in json.loads(out)] == ["done", "done"]

    # Chapter 9 on these results: the paper's number and ours side by side.
    import papermill

    nb_out = tmp_path / "09.ipynb"
    papermill.execute_notebook(str(ROOT / "book" / "09_results.ipynb"), str(nb_out), kernel_name="python3",
                               parameters={"results": str(tiny["results"])}, cwd=str(ROOT / "book"), progress_bar=False)
    text = json.dumps(json.loads(nb_out.read_text())["cells"])
    ours = f"{exp['best']['test_acc']:.4f} (n = 1)"
    assert "Test Table 9" in text and "0.8765" in text and ours in text
    assert "hpnb paper" in text and "2 runs read" in text


def test_stale_results_are_not_skipped(tiny, tmp_path):
    jobs = reproduce.plan(TINY.key, "paper", out_root=tiny["runs"], results_dir=tiny["results"])
    job = jobs[0]
    assert job.status() == "pending"
    job.run_dir.mkdir(parents=True)
    (job.run_dir / "checkpoint.pt").write_bytes(b"")
    assert job.status() == "partial"
    cfg = reproduce.dataclasses.asdict(job.config.resolved())
    (job.run_dir / "results.json").write_text(json.dumps({"config": {**cfg, "device": "cuda"}}))
    assert job.status() == "done"  # the device does not change what a run measures
    (job.run_dir / "results.json").write_text(json.dumps({"config": {**cfg, "epochs": 7}}))
    assert job.status() == "stale"
    assert reproduce.config_differences({**cfg, "epochs": 7}, job.config) == ["epochs"]


def test_records_summaries_and_dedupe(tmp_path):
    def record(seed, acc):
        return {"experiment": {"table": "t", "paper": "P", "source": "P Table 1", "title": "x", "metrics": ["test_acc"],
                               "row": 0, "label": "row A", "row_dataset": "cifar10", "paper_values": {"test_acc": 0.9},
                               "paper_config": {"epochs": 200, "dataset": "cifar10"}, "profile": "quick", "seed": seed},
                "config": {"method": "hpn", "arch": "resnet56", "dim": 64, "objective": "cosine_sq"},
                "data": {"name": "cifar10-jpeg", "train": 1000, "test": 1000},
                "history": [{"epoch": 1, "test_acc": acc, "train_loss": 1.0}], "best": {"test_acc": acc},
                "final": {"test_acc": acc}, "provenance": {"device": "cpu", "device_name": "x86_64", "threads": 1,
                                                           "wall_seconds": 10.0, "started": f"s{seed}"}}
    for seed, acc in ((0, 0.5), (1, 0.7)):
        reproduce.write_json(tmp_path / "results" / f"row-a-seed{seed}.json", record(seed, acc))
    run = tmp_path / "runs" / "t" / "quick" / "row-a" / "seed0" / "results.json"
    reproduce.write_json(run, record(0, 0.5), compact=False)
    recs = reproduce.load_records(tmp_path / "results", tmp_path / "runs", tmp_path / "missing")
    assert len(recs) == 2  # the run folder's copy of seed 0 counts once
    meta = reproduce.tables_for(recs)["t"]
    rows = reproduce.table_rows(meta, recs)
    assert rows[0]["source"] == "paper" and rows[0]["test_acc"] == "0.9000"
    assert rows[1]["test_acc"] == "0.6000 ± 0.1414 (n = 2)" and "cpu: x86_64, 1 thr." == rows[1]["hardware"]
    assert list(reproduce.curve_groups(meta, recs, "quick")) == ["objective cosine_sq"]
    other = copy.deepcopy(record(2, 0.8))
    other["config"]["method"] = "dl2pa"
    other["experiment"].update(table="u", label="row B")
    cross = reproduce.cross_rows(recs + [other])
    assert [r["method"] for r in cross] == ["dl2pa", "hpn"]


@pytest.mark.parametrize("args,needle", [
    (["no-such-table"], "unknown table 'no-such-table'"),
    (["hmpn-cifar10", "--profile", "huge"], "unknown profile 'huge'"),
    (["hmpn-cifar10", "--data", "cifar10"], "--data expects NAME=SPEC"),
    (["hmpn-cifar10", "--data", "cifar10=cifar10-jpeg:/no/such/dir"], "path not found"),
    (["hmpn-cifar10", "--data", "cifar10=magic:/tmp"], "unknown dataset kind 'magic'"),
    (["hmpn-cifar10", "--data", "mnist=digits"], "no row of hmpn-cifar10 uses dataset 'mnist'"),
    (["hmpn-cifar10", "--only", "9"], "no row 9"),
    (["hmpn-cifar10", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_bad_arguments_one_line_exit_2(capsys, tmp_path, args, needle):
    rc, out, err = _main(capsys, "reproduce", *args, "--out-root", str(tmp_path), "--results-dir", str(tmp_path))
    assert rc == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_subprocess_error_and_help():
    res = subprocess.run([sys.executable, "-m", "hpnb", "reproduce", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2 and res.stdout == ""
    assert "unknown table 'nope'" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_slug_and_data_specs(tmp_path):
    assert reproduce.slug("MCE, mixed prototypes (Eq. 4)") == "mce-mixed-prototypes-eq-4"
    specs = reproduce.parse_data([f"cifar10=cifar10-jpeg:{tmp_path}", "digits=digits"])
    assert specs == {"cifar10": f"cifar10-jpeg:{tmp_path.resolve()}", "digits": "digits"}
    # the official releases take an optional folder, which their download may still have to create
    later = tmp_path / "not-yet"
    assert reproduce.parse_data(["cifar100=cifar100", f"tinyimagenet=tinyimagenet:{later}"]) == {
        "cifar100": "cifar100", "tinyimagenet": f"tinyimagenet:{later.resolve()}"}


def test_placement_tables_and_rows_that_cannot_run(monkeypatch, tmp_path, capsys):
    rows = (Row("Simplex", {**BASE, "method": "hpn", "prototypes": "simplex", "dim": 9}, {"dist_min": 1.111}),
            Row("One-hot", {**BASE, "method": "hpn", "prototypes": "onehot", "dim": 10}, {"dist_min": 1.0}),
            Row("Elsewhere", {**BASE, "method": "hpn"}, {"dist_min": 0.5}, not_runnable="no loader for it"))
    placement = Table(key="tiny-placement", paper="HPN", source="Test Table 2", title="separation",
                      metrics=("dist_min", "dist_mean", "dist_max"), rows=rows, kind="placement", seeds=1)
    monkeypatch.setitem(experiments.TABLES, placement.key, placement)
    common = ["--profile", "paper", "--out-root", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"), "--quiet"]
    rc, out, err = _main(capsys, "reproduce", placement.key, *common)
    assert rc == 0, err
    summary = json.loads(out)
    assert [r["label"] for r in summary["runs"]] == ["Simplex", "One-hot"]
    assert summary["not_runnable"] == [{"row": 2, "label": "Elsewhere", "not_runnable": "no loader for it"}]
    assert abs(summary["runs"][0]["best_dist_min"] - 10 / 9) < 1e-4 and abs(summary["runs"][1]["best_dist_min"] - 1) < 1e-6
    rc, _, err = _main(capsys, "reproduce", placement.key, "--only", "2", *common)
    assert rc == 2 and "not runnable: no loader for it" in err
    recs = reproduce.load_records(tmp_path / "results")
    meta = reproduce.tables_for(recs)[placement.key]
    lines = reproduce.table_rows(meta, recs)
    assert [line["source"] for line in lines] == ["paper", "hpnb paper", "paper", "hpnb paper", "paper"]
    assert "not runnable" in lines[-1]["hardware"] and "not runnable: no loader" in reproduce.row_notes(meta)
    assert reproduce.curve_groups(meta, recs, "paper") == {} and reproduce.cross_rows(recs) == []


def test_a_failing_run_is_reported_and_the_others_go_on(tiny, monkeypatch):
    broken = Table(key="tiny-broken", paper="HMPN", source="Test", title="t", metrics=("test_acc",),
                   rows=(Row("Bad data", {**BASE, "method": "hpn", "dataset": "imagefolder:/no/such/folder"}),))
    monkeypatch.setitem(experiments.TABLES, broken.key, broken)
    jobs = reproduce.plan(broken.key, "paper", out_root=tiny["runs"], results_dir=tiny["results"])
    summary = reproduce.reproduce(jobs, progress=False, preflight=False)  # the CLI's preflight would stop first
    assert summary[0]["status"] == "failed" and "DataError" in summary[0]["error"]
    assert "imagefolder path not found" in summary[0]["error"] and str(jobs[0].notebook_path) in summary[0]["error"]
    assert not jobs[0].export_path.exists()


def test_a_config_field_added_later_does_not_make_runs_stale():
    import dataclasses

    from hpnb.train import Config

    cfg = Config(dataset="digits", method="hpn", epochs=1)
    written = dataclasses.asdict(cfg.resolved())
    del written["task_weight"]  # a results.json written before Config had this field
    assert reproduce.config_differences(written, cfg) == []
    written["epochs"] = 2
    assert reproduce.config_differences(written, cfg) == ["epochs"]


def test_every_config_field_is_a_parameter_of_the_experiment_notebook():
    import ast
    import dataclasses

    import nbformat

    from hpnb.train import Config

    nb = nbformat.read(reproduce.EXPERIMENT_NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert {f.name for f in dataclasses.fields(Config)} <= names


def _rec(table, label, profile, seed, acc, test=1000, sq=None):
    best = {"test_acc": acc, **({"test_sq_dissim": sq} if sq is not None else {})}
    return {"experiment": {"table": table, "label": label, "profile": profile, "seed": seed},
            "config": {"epochs": 12}, "data": {"train": 4000, "test": test},
            "history": [{"epoch": e, "test_acc": acc} for e in range(1, 13)], "best": best, "final": best,
            "provenance": {}}


def test_claim_verdicts_on_synthetic_records(monkeypatch):
    rows = tuple(Row(x, {**BASE, "method": "hpn"}, {"test_acc": 0.5, "test_sq_dissim": 100}) for x in "ABCDEFG")
    rows += (Row("X", {**BASE, "method": "hpn"}, {"test_acc": 0.4}, not_runnable="no loader for X"),)
    table = Table(key="tiny-claims", paper="P", source="P Table 1", title="t", metrics=("test_acc", "test_sq_dissim"),
                  rows=rows)
    monkeypatch.setitem(experiments.TABLES, table.key, table)
    C = reproduce.Claim
    claims = [C("P", "A beats B", table.key, "A", "B"),                      # agrees (cpu), quick also listed
              C("P", "B beats A", table.key, "B", "A"),                      # disagrees
              C("P", "C beats D", table.key, "C", "D"),                      # one seed: inconclusive
              C("P", "A beats E", table.key, "A", "E"),                      # within the spread: inconclusive
              C("P", "A at least E", table.key, "A", "E", direction="at least"),  # a tie matches: agrees
              C("P", "F below A (sq)", table.key, "F", "A", metric="test_sq_dissim", direction="lower"),
              C("P", "G beats A", table.key, "G", "A"),                      # G never run
              C("P", "X beats A", table.key, "X", "A")]                      # X not runnable
    assert reproduce.claim_problems(claims) == []
    recs = ([_rec(table.key, "A", "cpu", s, a, sq=400) for s, a in enumerate((0.600, 0.610, 0.605))]
            + [_rec(table.key, "B", "cpu", s, a) for s, a in enumerate((0.500, 0.505, 0.510))]
            + [_rec(table.key, "E", "cpu", s, a) for s, a in enumerate((0.590, 0.620, 0.600))]
            + [_rec(table.key, "A", "quick", 0, 0.3), _rec(table.key, "B", "quick", 0, 0.2),
               _rec(table.key, "C", "cpu", 0, 0.9), _rec(table.key, "D", "cpu", 0, 0.1)]
            + [_rec(table.key, "F", "cpu", s, 0.6, sq=sq) for s, sq in enumerate((100, 110, 105))])
    lines = reproduce.verdicts(recs, claims=claims)
    got = [(line["status"], line["verdict"]) for line in lines]
    assert got == [("agrees", "agrees"), ("disagrees", "disagrees"), ("inconclusive", "inconclusive: one seed"),
                   ("inconclusive", "inconclusive: within the seeds' spread"), ("agrees", "agrees"),
                   ("agrees", "agrees"), ("not run", "not run"), ("not runnable", "not runnable")]
    agree = lines[0]
    assert agree["profile"] == "cpu" and agree["scale"] == "cpu: 12 ep., 4000 / 1000 img., 3 seeds"
    assert agree["other"] == "quick: inconclusive: one seed" and agree["paper_values"] == "0.5000 vs 0.5000"
    assert abs(agree["diff"] - 0.1) < 1e-9 and agree["margin"] >= 1 / 1000 and (agree["n_a"], agree["n_b"]) == (3, 3)
    assert lines[3]["margin"] > abs(lines[3]["diff"])  # within the spread of the seeds
    assert lines[5]["ours"].startswith("0.1050 vs 0.4000/img.")  # summed metrics compared per test image
    assert "no runs of G" in lines[6]["why"] and "no loader for X" in lines[7]["why"]
    assert reproduce.verdict_counts(lines) == {"agrees": 3, "disagrees": 1, "inconclusive": 2, "not run": 1,
                                               "not runnable": 1}
    # One seed decides nothing even when the difference is large; the resolution is one test image.
    one = reproduce.verdicts([_rec(table.key, "A", "cpu", 0, 0.5005, test=2000), _rec(table.key, "B", "cpu", 0, 0.5)],
                             claims=claims[:1])[0]
    assert one["verdict"] == "inconclusive: one seed" and one["margin"] == 1 / 2000
    apart = reproduce.verdicts([_rec(table.key, "A", "quick", 0, 0.5), _rec(table.key, "B", "cpu", 0, 0.4)],
                               claims=claims[:1])[0]
    assert apart["status"] == "not run" and "different profiles" in apart["why"]
    scales = reproduce.measured_scales(recs)
    assert [(s["profile"], s["rows"], s["seeds_per_row"]) for s in scales] == [("cpu", 6, [1, 3]), ("quick", 2, [1])]


def test_the_papers_claims_name_existing_rows():
    assert reproduce.claim_problems() == []
    assert {c.paper for c in reproduce.CLAIMS} == {"HPN", "HMPN", "DL2PA", "DPNP"}
    bad = reproduce.Claim("P", "t", "hmpn-cifar10", "no such row", "MCE baseline (Eq. 2)", direction="up")
    problems = reproduce.claim_problems([bad])
    assert len(problems) == 2 and "no row 'no such row'" in problems[1]
    assert all(line["status"] == "not run" for line in reproduce.verdicts([])
               if line["status"] != "not runnable")


def test_each_table_carries_its_papers_statistic_and_seed_count():
    # Issue 10.4: HMPN reports the best test epoch of one run, HPN the final epoch over three seeds,
    # DL2PA and DPNP say neither (final epoch, three seeds, and the basis says "not stated").
    T = experiments.TABLES
    assert (T["hmpn-cifar10"].statistic, T["hmpn-cifar10"].seeds) == ("best", 1)
    assert (T["hpn-table3"].statistic, T["hpn-table3"].seeds) == ("final", 3)
    for key in ("dl2pa-table2", "dpnp-table1"):
        assert (T[key].statistic, T[key].seeds) == ("final", 3) and T[key].basis.startswith("not stated")
    assert reproduce.statistic("hmpn-cifar10") == "best" and reproduce.statistic("dpnp-table1") == "final"
    assert reproduce.statistic("hmpn-cifar10", "final") == "final"
    assert len({j.seed for j in reproduce.plan("hpn-table3", "quick", only=[0])}) == 3   # the paper's count
    assert len({j.seed for j in reproduce.plan("hmpn-cifar10", "quick", only=[0])}) == 1
    meta = reproduce.tables_for([])["dl2pa-table2"]
    assert all("mean of" not in line["scale"] for line in reproduce.table_rows(meta, []))


def test_row_notes_state_a_shared_note_once_and_name_the_papers_method():
    meta = {"rows": {"A (ours), d = 2": {"index": 0, "note": "same note"}, "B": {"index": 1, "note": "same note"},
                     "C": {"index": 2, "note": "own note"}, "D": {"index": 3, "not_runnable": "no loader"}}}
    assert reproduce.row_notes(meta).splitlines() == [
        "- *A (the paper's method), d = 2*, *B*: same note", "- *C*: own note", "- *D*: not runnable: no loader"]
    assert reproduce.shown_label("DPNP (Ours)") == "DPNP (the paper's method)"


def test_paper_lines_show_the_papers_spread_where_it_prints_one():
    # Row.paper_std: "m ± s" on the paper line, s with the mean's decimals; no "±" where none is printed.
    def paper_line(key, label):
        meta = reproduce.tables_for([])[key]
        return next(line for line in reproduce.table_rows(meta, []) if line["label"] == reproduce.shown_label(label))

    assert paper_line("hpn-table5", "Squared loss, S^1, lr 1e-2")["test_mae"] == "210.7 ± 140.1"
    assert paper_line("hpn-table5", "HPN, S^2, lr 1e-3")["test_mae"] == "73.20 ± 0.60"
    assert paper_line("hpn-table4", "Cosine softmax CE, CIFAR-100 (text)")["test_acc"] == "0.5550 ± 0.0020"
    assert paper_line("dl2pa-table9", "Fixed W + CE, d = 16")["test_acc"] == "0.5530 ± 0.0076"
    line = paper_line("hpn-table6", "HPN, task weight 0.25")
    assert (line["test_mae"], line["test_acc"]) == ("64.10", "0.5450")
    assert paper_line("dl2pa-table2", "ETF, CIFAR-100, d = 100")["test_acc"] == "0.6534"
    # a table known only from records has no spreads
    rec = {"experiment": {"table": "t", "label": "A", "paper_values": {"test_acc": 0.9}, "metrics": ["test_acc"]},
           "history": [], "config": {}}
    meta = reproduce.tables_for([rec])["t"]
    assert "paper_std" not in meta["rows"]["A"] and reproduce.table_rows(meta, [])[0]["test_acc"] == "0.9000"


def test_quiet_preflight_loads_without_progress_bars(tiny, monkeypatch):
    from hpnb import data as hdata

    seen = []
    monkeypatch.setattr(hdata, "load", lambda spec, **kw: seen.append((spec, kw["progress"])))
    jobs = reproduce.plan(TINY.key, "paper", out_root=tiny["runs"], results_dir=tiny["results"])
    reproduce._preflight(jobs, progress=False)
    reproduce._preflight(jobs)
    assert seen == [("digits", False), ("digits", True)]  # each dataset once per preflight


def test_precision_flag_reaches_the_runs(tiny, capsys):
    rc, out, err = _main(capsys, "reproduce", TINY.key, "--profile", "paper", "--only", "0", "--threads", "1",
                         "--precision", "fp32", "--out-root", str(tiny["runs"]), "--results-dir", str(tiny["results"]),
                         "--quiet")
    assert rc == 0, err
    run = json.loads(out)["runs"][0]["run"]
    prov = json.loads((Path(run) / "results.json").read_text())["provenance"]
    assert prov["precision"] == {"precision": "fp32", "channels_last": "false", "reason": "asked for (fp32)"}
    with pytest.raises(SystemExit) as stop:
        cli.main(["reproduce", TINY.key, "--precision", "half"])
    assert stop.value.code == 2 and "invalid choice: 'half'" in capsys.readouterr().err
