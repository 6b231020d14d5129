"""Reproduce a paper table: run ``book/08_experiment.ipynb`` once per row and seed, collect results.

``python -m hpnb reproduce TABLE --profile quick|cpu|paper [--seeds N]`` plans one run per row of
:data:`hpnb.experiments.TABLES` ``[TABLE]`` and seed, executes the experiment notebook with papermill
for each (the row's :func:`~hpnb.experiments.row_config` as parameters) and exports a small copy of
every finished results.json. Layouts:

- runs, under ``--out-root`` (default ``data_dir()/runs``)::

      <table>/<profile>/<row-slug>/seed<k>/experiment.ipynb   the executed notebook
                                           results.json       hpnb.train's results (+ "experiment")
                                           checkpoint.pt      per epoch; a killed run resumes from it

- exported results, under ``--results-dir`` (default ``data/results`` in the repository, committed)::

      <table>/<profile>/<row-slug>-seed<k>.json

  each with ``experiment`` (table, paper, source, row index and label, the paper's numbers, profile,
  seed), ``config``, ``data`` (name, source, train/test sizes, classes), ``history`` (every epoch),
  ``best``, ``final`` and ``provenance`` (git revision, versions, device and its name, threads, wall
  time); floats are rounded to 6 significant digits and each history epoch takes one line.

A run whose results.json exists (with the same config, the device aside) is skipped; one with only a
checkpoint resumes. :func:`load_records` and the ``*_rows`` helpers are what ``book/09_results.ipynb``
renders; :data:`CLAIMS` (the papers' main claims, as comparisons of two table rows) and :func:`verdicts`
(each decided on the runs over seeds) are the verdict it opens with.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from hpnb import experiments
from hpnb.claims import compare as _compare
from hpnb.data import KNOWN_SPECS
from hpnb.files import write_atomic
from hpnb.prototypes import data_dir
from hpnb.train import Config, ConfigError, uses_word_vectors

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT_NOTEBOOK = ROOT / "book" / "08_experiment.ipynb"
RESULTS_DIR = ROOT / "data" / "results"   # committed: small JSON per finished run

# Size of the evaluation split the papers' summed metrics are over (the standard test / validation
# split of each abstract dataset), to put them per image next to ours.
PAPER_TEST_IMAGES: dict[str, int] = {"cifar10": 10_000, "cifar100": 10_000, "tinyimagenet": 10_000}

def default_out_root() -> Path:
    return data_dir() / "runs"


def slug(text: str, limit: int = 60) -> str:
    """``"MCE, mixed prototypes (Eq. 4)"`` -> ``"mce-mixed-prototypes-eq-4"``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "row"


def parse_data(items: Sequence[str] | None) -> dict[str, str]:
    """``["cifar10=cifar10-jpeg:/dir"]`` -> ``{"cifar10": "cifar10-jpeg:/abs/dir"}`` (paths made absolute)."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, spec = item.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name or not spec:
            raise ConfigError(f"--data expects NAME=SPEC (e.g. cifar10=cifar10-jpeg:/path/to/dir), got {item!r}")
        kind, colon, arg = spec.partition(":")
        # hpnb.data.KNOWN_SPECS: "kind", "kind:PATH" (a path required) or "kind[:DIR]" (optional).
        forms = {k.split(":")[0].split("[")[0]: k for k in KNOWN_SPECS}
        if kind not in forms:
            raise ConfigError(f"--data {name}: unknown dataset kind {kind!r} in {spec!r}; "
                              f"known: {', '.join(KNOWN_SPECS)}")
        needs_path = ":" in forms[kind] and "[" not in forms[kind]
        if needs_path and (not colon or not arg.strip()):
            raise ConfigError(f"--data {name}: {kind} needs a path, e.g. {kind}:/path/to/data")
        if colon and arg.strip():
            path = Path(arg.strip()).expanduser().resolve()   # absolute: the kernel's cwd is book/
            if needs_path and not path.exists():  # an official release's DIR may be created by its download
                raise ConfigError(f"--data {name}: path not found: {path}")
            spec = f"{kind}:{path}"
        out[name] = spec
    return out


@dataclass
class Job:
    """One run: a row of a table under a profile with a seed, and where its files go."""

    table: experiments.Table
    index: int                 # row index in the table
    row: experiments.Row
    profile: str
    seed: int
    config: Config             # row_config(...), unresolved (None switches come from the method preset)
    slug: str
    run_dir: Path
    export_path: Path

    @property
    def results_path(self) -> Path:
        return self.run_dir / "results.json"

    @property
    def notebook_path(self) -> Path:
        return self.run_dir / "experiment.ipynb"

    def experiment(self) -> dict[str, Any]:
        """The ``experiment`` block: what this run reproduces (kept with its results)."""
        return {
            "table": self.table.key, "paper": self.table.paper, "source": self.table.source,
            "title": self.table.title, "metrics": list(self.table.metrics), "note": self.table.note,
            "kind": _kind(self.table), "paper_seeds": self.table.seeds, "statistic": self.table.statistic,
            "basis": self.table.basis,
            "row": self.index, "label": self.row.label, "row_note": getattr(self.row, "note", ""),
            "row_dataset": self.row.config.get("dataset"),
            "paper_values": dict(self.row.paper), "paper_config": dict(self.row.config),
            "profile": self.profile, "seed": self.seed,
        }

    def status(self) -> str:
        """``done``, ``stale`` (results of another config), ``partial`` (a checkpoint) or ``pending``."""
        if self.results_path.exists():
            try:
                old = json.loads(self.results_path.read_text())["config"]
            except (OSError, ValueError, KeyError):
                return "stale"
            return "done" if not config_differences(old, self.config) else "stale"
        if (self.run_dir / "checkpoint.pt").exists():
            return "partial"
        return "pending"


def _kind(table: experiments.Table) -> str:
    return getattr(table, "kind", "train")


def not_runnable(row: experiments.Row) -> str:
    """Why ``row`` cannot run here ("" when it can); see :attr:`hpnb.experiments.Row.not_runnable`."""
    return getattr(row, "not_runnable", "") or ""


_EXECUTION = ("device", "precision")


def config_differences(written: dict[str, Any], cfg: Config) -> list[str]:
    """Config fields in which a results.json's config differs from ``cfg`` (resolved); device and
    precision aside (how a run executes, not what it runs; results record both in provenance).

    A field that Config gained after the run was written counts as its default (which keeps the old
    behaviour), so adding a field does not make every finished run stale.
    """
    want = dataclasses.asdict(cfg.resolved())
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    had = {**{k: defaults[k] for k in want if k not in written and k in defaults}, **written}
    return sorted(k for k in set(want) | set(had) if k not in _EXECUTION and had.get(k) != want.get(k))


def plan(table_key: str, profile: str = "quick", seeds: int | None = None, *, datasets: dict[str, str] | None = None,
         overrides: dict[str, Any] | None = None, out_root: str | Path | None = None,
         results_dir: str | Path | None = None, only: Iterable[int] | None = None,
         word_vectors: str | None = None) -> list[Job]:
    """The runs that reproduce ``table_key``: rows (``only`` these indices) x seeds 0..seeds-1.

    ``seeds`` defaults to the number of runs the table's paper averages over (:attr:`Table.seeds`).
    ``word_vectors`` (a word-vector file, :func:`hpnb.embeddings.word_vectors`) replaces GloVe in the
    rows whose prototypes come from class-name vectors, and only there (an error if no row does).

    Rows that are not runnable (:func:`not_runnable`) are left out unless named in ``only`` (an
    error). Every row is turned into its config first, so an impossible row or profile fails before
    anything runs.
    """
    table = experiments.table(table_key)
    if profile not in experiments.PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(experiments.PROFILES)}")
    if seeds is None:
        seeds = table.seeds
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    if only is None:
        indices = [i for i, r in enumerate(table.rows) if not not_runnable(r)]
    else:
        indices = list(only)
        for i in indices:
            if not 0 <= i < len(table.rows):
                raise ConfigError(f"table {table.key} has rows 0..{len(table.rows) - 1}; no row {i}")
            if not_runnable(table.rows[i]):
                raise ConfigError(f"row {i} of {table.key} ({table.rows[i].label}) is not runnable: "
                                  f"{not_runnable(table.rows[i])}")
    unused = sorted(set(datasets or {}) - {r.config.get("dataset") for r in table.rows})
    if unused:
        raise ConfigError(f"--data {unused[0]}: no row of {table.key} uses dataset {unused[0]!r} "
                          f"(its rows use {', '.join(sorted({str(r.config.get('dataset')) for r in table.rows}))})")
    if word_vectors is not None and not any(uses_word_vectors(experiments.row_config(table.rows[i], profile).resolved())
                                            for i in indices):
        raise ConfigError(f"--word-vectors: no planned row of {table.key} uses class-name vectors "
                          "(privileged or embedding prototypes)")
    if word_vectors is not None and word_vectors != "glove":
        if not Path(word_vectors).expanduser().is_file():
            raise ConfigError(f"--word-vectors {word_vectors}: no such file (a word2vec .bin or a text file of vectors)")
        word_vectors = str(Path(word_vectors).expanduser().resolve())   # runs execute in book/
    out_root = Path(out_root) if out_root is not None else default_out_root()
    results_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    slugs: dict[int, str] = {}
    for i, row in enumerate(table.rows):
        s, n = slug(row.label), 2
        while s in slugs.values():
            s, n = f"{slug(row.label)}-{n}", n + 1
        slugs[i] = s
    jobs = []
    for i in indices:
        row = table.rows[i]
        for seed in range(seeds):
            cfg = experiments.row_config(row, profile, seed=seed, datasets=datasets, **(overrides or {}))
            if word_vectors is not None and uses_word_vectors(cfg.resolved()):
                cfg = dataclasses.replace(cfg, word_vectors=str(word_vectors))
            jobs.append(Job(table, i, row, profile, seed, cfg, slugs[i],
                            (out_root / table.key / profile / slugs[i] / f"seed{seed}").resolve(),
                            (results_dir / table.key / profile / f"{slugs[i]}-seed{seed}.json").resolve()))
    return jobs


def notebook_parameters(job: Job, threads: int = 0) -> dict[str, Any]:
    """papermill parameters of ``book/08_experiment.ipynb`` for ``job``."""
    return {**dataclasses.asdict(job.config), "threads": threads, "out": str(job.run_dir),
            "table": job.table.key, "row": job.index, "label": job.row.label, "profile": job.profile,
            "paper": dict(job.row.paper)}


def place_only(job: Job) -> dict[str, Any]:
    """A ``kind="placement"`` row: place its prototypes, measure their separation; write results.json.

    No network is trained: ``history`` is empty and ``best`` = ``final`` = the separation statistics.
    """
    import torch

    from hpnb import prototypes, train

    start = time.perf_counter()
    cfg = job.config.resolved()
    args = experiments.placement_args(job.row)
    extra, words = {}, {}
    if train.uses_word_vectors(cfg):   # class-name vectors, as the trainer would use them
        from hpnb.embeddings import class_name_embeddings, word_vectors

        dataset = str(job.row.config.get("dataset"))
        if dataset not in experiments.CLASS_NAMES:
            raise ConfigError(f"{job.row.label}: placement {args['method']!r} needs class names, and hpnb has "
                              f"none for {dataset!r} (hpnb.experiments.CLASS_NAMES)")
        extra["embeddings"] = class_name_embeddings(list(experiments.CLASS_NAMES[dataset]), vectors=cfg.word_vectors)
        words["word_vectors"] = word_vectors(cfg.word_vectors).source
    P = prototypes.place(args["num_classes"], args["dim"], args["method"], seed=args["seed"], **extra)
    stats = prototypes.separation(P)
    results = {
        "experiment": job.experiment(), "config": dataclasses.asdict(cfg),
        "data": {"name": str(job.row.config.get("dataset")), "source": f"placement only: {args}",
                 "train": 0, "test": 0, "classes": args["num_classes"], **words},
        "history": [], "best": stats, "final": stats,
        "provenance": {**train._provenance(torch.device("cpu")), "wall_seconds": time.perf_counter() - start},
    }
    job.run_dir.mkdir(parents=True, exist_ok=True)
    write_json(job.results_path, results, compact=False)
    return results


def execute(job: Job, threads: int = 0, notebook: Path = EXPERIMENT_NOTEBOOK) -> dict[str, Any]:
    """Run the experiment notebook for ``job`` (resuming a checkpoint); return its results.json.

    Rows of a ``kind="placement"`` table train nothing: :func:`place_only` measures them in process.
    """
    import papermill

    if _kind(job.table) == "placement":
        return place_only(job)
    job.run_dir.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook), str(job.notebook_path), parameters=notebook_parameters(job, threads),
        kernel_name="python3", cwd=str(notebook.parent), progress_bar=False,
    )
    results = json.loads(job.results_path.read_text())
    if results.get("experiment") != job.experiment():
        results["experiment"] = job.experiment()
        write_json(job.results_path, results, compact=False)
    return results


def _round(value: Any, digits: int = 6) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0.0:
            return value
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    return value


def exported(results: dict[str, Any], experiment: dict[str, Any]) -> dict[str, Any]:
    """The small copy of a results.json that is committed under data/results/."""
    keep = ("config", "data", "history", "units", "best", "final", "provenance")
    return _round({"experiment": experiment, **{k: results[k] for k in keep if k in results}})


def write_json(path: Path, obj: dict[str, Any], compact: bool = True) -> None:
    """Write atomically; ``compact``: top-level keys indented, each history epoch on one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if compact:
        parts = []
        for key, value in obj.items():
            if key == "history" and isinstance(value, list):
                body = "[\n" + ",\n".join("  " + json.dumps(r) for r in value) + "\n ]"
            else:
                body = json.dumps(value, indent=None if key in ("best", "final") else 1)
                body = body.replace("\n", "\n ")
            parts.append(f" {json.dumps(key)}: {body}")
        text = "{\n" + ",\n".join(parts) + "\n}\n"
    else:
        text = json.dumps(obj, indent=2) + "\n"
    write_atomic(path, text)


def export(job: Job, results: dict[str, Any]) -> Path:
    write_json(job.export_path, exported(results, job.experiment()))
    return job.export_path


def _preflight(jobs: Sequence[Job], progress: bool = True) -> None:
    """Load each dataset once (with a progress bar unless ``progress`` is off), so a bad spec fails
    before any kernel starts.

    (The first load of an archive decodes it into data/cache/; the kernels then read the cache.)
    """
    from hpnb import data as hdata

    seen = set()
    for job in jobs:
        c = job.config
        if c.dataset in seen:
            continue
        seen.add(c.dataset)
        hdata.load(c.dataset, seed=c.seed, train_limit=c.train_limit, test_limit=c.test_limit,
                   long_tail=c.long_tail, image_size=c.image_size, progress=progress)


def _metric(results: dict[str, Any], which: str, key: str) -> float | None:
    value = results.get(which, {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def reproduce(jobs: Sequence[Job], *, threads: int = 0, export_results: bool = True, progress: bool = True,
              notebook: Path = EXPERIMENT_NOTEBOOK, preflight: bool = True) -> list[dict[str, Any]]:
    """Run every pending job (skip finished ones), export results; one summary dict per job.

    A job that fails (its notebook raises) is reported with status ``failed`` and the others go on;
    one whose results.json holds another config is ``stale`` and left alone.
    """
    from tqdm.auto import tqdm

    states = {id(j): j.status() for j in jobs}
    todo = [j for j in jobs if states[id(j)] in ("pending", "partial") and _kind(j.table) != "placement"]
    if todo and preflight:
        _preflight(todo, progress)
    summary = []
    bar = tqdm(total=len(jobs), desc=f"{jobs[0].table.key} ({jobs[0].profile})" if jobs else "reproduce",
               unit="run", disable=not progress, dynamic_ncols=True)
    for n, job in enumerate(jobs, 1):
        state = states[id(job)]
        entry: dict[str, Any] = {"row": job.index, "label": job.row.label, "seed": job.seed, "run": str(job.run_dir)}
        bar.set_postfix_str(f"{job.row.label}, seed {job.seed}")
        start = time.perf_counter()
        results = None
        if state == "done":
            entry["status"] = "skipped"
            results = json.loads(job.results_path.read_text())
        elif state == "stale":
            entry["status"] = "stale"
            entry["error"] = (f"{job.results_path} holds another config; remove {job.run_dir} to re-run")
        else:
            try:
                results = execute(job, threads, notebook)
                entry["status"] = "resumed" if state == "partial" else "ran"
            except Exception as err:  # papermill's execution error: report and go on with the others
                ename = getattr(err, "ename", type(err).__name__)
                evalue = getattr(err, "evalue", str(err))
                entry["status"] = "failed"
                entry["error"] = f"{ename}: {evalue}".strip().splitlines()[0][:300] + f" (see {job.notebook_path})"
        if results is not None:
            if export_results:
                entry["exported"] = str(export(job, results))
            for which in ("best", "final"):
                for key in job.table.metrics:
                    entry[f"{which}_{key}"] = _metric(results, which, key)
            entry["wall_seconds"] = results.get("provenance", {}).get("wall_seconds")
        summary.append(entry)
        bar.update(1)
        if progress:
            head = entry.get(f"best_{job.table.metrics[0]}")
            what = (f"best {job.table.metrics[0]} {'–' if head is None else f'{head:.4f}'}, "
                    f"run {float(entry.get('wall_seconds') or 0):.0f} s" if results is not None else entry.get("error", ""))
            bar.write(f"[{n}/{len(jobs)}] {entry['status']:>7}: {job.row.label}, seed {job.seed}: {what}"
                      + (f" (this call {time.perf_counter() - start:.0f} s)" if entry["status"] in ("ran", "resumed") else ""),
                      file=sys.stderr)
    bar.close()
    return summary


# ---------------------------------------------------------------------------------------------
# Reading results back (book/09_results.ipynb).

def _experiment_from_run(results: dict[str, Any]) -> dict[str, Any] | None:
    exp = results.get("experiment")
    if isinstance(exp, dict) and exp.get("table") and exp.get("label"):
        return exp
    return None


def load_records(*folders: str | Path) -> list[dict[str, Any]]:
    """Every results JSON under ``folders`` that says what it reproduces, de-duplicated.

    Exported files (``*.json`` under data/results) and run folders' ``results.json`` (under data/runs)
    are both read; a run present in both (same table, profile, row label, seed and start time) counts once.
    Each record is the JSON with ``experiment`` filled in and ``path`` added.
    """
    records, seen = [], set()
    for folder in folders:
        if not folder:
            continue
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.json")):
            try:
                res = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(res, dict) or "history" not in res or "config" not in res:
                continue
            exp = _experiment_from_run(res)
            if exp is None:
                continue
            key = (exp["table"], exp.get("profile"), exp["label"], exp.get("seed"),
                   res.get("provenance", {}).get("started"))
            if key in seen:
                continue
            seen.add(key)
            records.append({**res, "experiment": exp, "path": str(path)})
    return records


def tables_for(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Table metadata for rendering: :data:`experiments.TABLES` first, then tables known only from records.

    Each value: ``key, paper, source, title, metrics, note, kind, seeds`` and ``rows`` (label -> {index,
    paper, paper_std, config, note, not_runnable}).
    """
    out: dict[str, dict[str, Any]] = {}
    for t in experiments.TABLES.values():
        out[t.key] = {"key": t.key, "paper": t.paper, "source": t.source, "title": t.title,
                      "metrics": tuple(t.metrics), "note": t.note, "kind": _kind(t), "seeds": t.seeds,
                      "statistic": t.statistic, "basis": t.basis,
                      "rows": {r.label: {"index": i, "paper": dict(r.paper),
                                         "paper_std": dict(getattr(r, "paper_std", {}) or {}), "config": dict(r.config),
                                         "note": getattr(r, "note", ""), "not_runnable": not_runnable(r)}
                               for i, r in enumerate(t.rows)}}
    for rec in records:
        e = rec["experiment"]
        t = out.setdefault(e["table"], {"key": e["table"], "paper": e.get("paper", ""), "source": e.get("source", ""),
                                        "title": e.get("title", ""), "metrics": tuple(e.get("metrics") or ("test_acc",)),
                                        "note": e.get("note", ""), "kind": e.get("kind", "train"),
                                        "seeds": e.get("paper_seeds", 1), "statistic": e.get("statistic", "final"),
                                        "basis": e.get("basis", ""), "rows": {}})
        t["rows"].setdefault(e["label"], {"index": e.get("row", len(t["rows"])), "paper": dict(e.get("paper_values") or {}),
                                          "config": dict(e.get("paper_config") or {}), "note": e.get("row_note", ""),
                                          "not_runnable": ""})
    return out


def decimals(value: float) -> int:
    """Decimals a table shows for ``value``: 4 for fractions (accuracies), 2 below 100, 1 above (sums, degrees)."""
    return 4 if abs(value) <= 1 else 2 if abs(value) < 100 else 1


def mean_std(values: Sequence[float], digits: int | None = None) -> str:
    """``"0.9012 ± 0.0031 (n = 3)"``; one value: ``"0.9012 (n = 1)"``.

    ``digits`` defaults to :func:`decimals` of the mean, the rule the papers' numbers are shown with.
    """
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return "–"
    mean = statistics.mean(vals)
    if digits is None:
        digits = decimals(mean)
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f} (n = 1)"
    return f"{mean:.{digits}f} ± {statistics.stdev(vals):.{digits}f} (n = {len(vals)})"


def _scale(rec: dict[str, Any]) -> str:
    cfg, data = rec["config"], rec.get("data", {})
    if not rec.get("history"):
        return f"placement only ({data.get('classes', '?')} prototypes, d = {cfg.get('dim')})"
    epochs = len(rec.get("history", [])) or cfg.get("epochs")

    def count(n: Any) -> str:
        return f"{n:,}".replace(",", "\u2009") if isinstance(n, int) else "?"

    return f"{epochs} ep., {count(data.get('train'))} / {count(data.get('test'))} img., {data.get('name', '?')}"


def _hardware(rec: dict[str, Any]) -> str:
    p = rec.get("provenance", {})
    device = str(p.get("device", "?"))
    name = p.get("device_name", "")
    threads = f", {p['threads']} thr." if device == "cpu" and p.get("threads") else ""
    return f"{device}: {name}{threads}" if name and name != device else f"{device}{threads}"


def _joined(values: Iterable[str]) -> str:
    return "; ".join(dict.fromkeys(values))


def _per_image_key(metric: str) -> bool:
    return "sq_dissim" in metric  # summed over the evaluation set: compare per image


def statistic(meta: dict[str, Any] | str, which: str = "paper") -> str:
    """The epoch a table is read at: ``which`` ("best" or "final"), or with "paper" the statistic its
    paper reports (:attr:`hpnb.experiments.Table.statistic`); ``meta`` is a table's metadata or key."""
    if which in ("best", "final"):
        return which
    if which != "paper":
        raise ValueError(f"which must be 'paper', 'best' or 'final', got {which!r}")
    if isinstance(meta, str):
        table = experiments.TABLES.get(meta)
        return table.statistic if table else "final"
    return meta.get("statistic", "final")


def table_rows(meta: dict[str, Any], records: Sequence[dict[str, Any]], which: str = "paper") -> list[dict[str, Any]]:
    """Rows for :func:`hpnb.plots.markdown_table`: per table row, a *paper* line and one line per profile measured.

    ``which``: the epoch of each run (:func:`statistic`; by default the one the table's paper reports).

    Columns: ``label``, ``source`` (paper / hpnb <profile>), per metric ``m`` the value (``m``; mean ± std
    over seeds for ours; the paper's "± std" where it prints one, :attr:`hpnb.experiments.Row.paper_std`) and,
    for summed metrics, ``m/img`` (divided by the evaluation images), ``scale``,
    ``hardware``, ``seconds`` (mean wall time of a run).
    """
    which = statistic(meta, which)
    mine = [r for r in records if r["experiment"]["table"] == meta["key"]]
    out = []
    for label, row in sorted(meta["rows"].items(), key=lambda kv: kv[1]["index"]):
        cfg = row["config"]
        seeds = meta.get("seeds", 1) or 1
        scale = ("placement only" if meta.get("kind") == "placement"
                 else f"{cfg.get('epochs', '?')} ep., full {cfg.get('dataset', '?')}")
        runs = ("runs not stated" if str(meta.get("basis", "")).startswith("not stated")
                else f"mean of {seeds} seeds" if seeds > 1 else "")
        paper_line = {"label": shown_label(label), "source": "paper",
                      "scale": scale + (f", {runs}" if runs else ""), "hardware": "as published"}
        n_paper = PAPER_TEST_IMAGES.get(str(cfg.get("dataset")))
        for m in meta["metrics"]:
            v, sd = row["paper"].get(m), (row.get("paper_std") or {}).get(m)
            paper_line[m] = "–" if v is None else f"{v:.{decimals(v)}f}"   # the rule our lines use
            if v is not None and sd is not None:
                paper_line[m] += f" ± {sd:.{decimals(v)}f}"   # the mean's decimals, as mean_std
            if _per_image_key(m):
                paper_line[f"{m}/img"] = f"{v / n_paper:.4f}" if v is not None and n_paper else "–"
        if row.get("not_runnable"):
            paper_line["hardware"] = "as published; not runnable in hpnb"
        if row["paper"] or row.get("not_runnable"):
            out.append(paper_line)
        by_profile: dict[str, list[dict[str, Any]]] = {}
        for rec in mine:
            if rec["experiment"]["label"] == label:
                by_profile.setdefault(rec["experiment"].get("profile") or "?", []).append(rec)
        for profile, recs in sorted(by_profile.items()):
            recs = sorted(recs, key=lambda r: r["experiment"].get("seed", 0))
            line = {"label": shown_label(label), "source": f"hpnb {profile}",
                    "scale": _joined(_scale(r) for r in recs), "hardware": _joined(_hardware(r) for r in recs),
                    "seconds": statistics.mean(float(r["provenance"].get("wall_seconds", 0)) for r in recs)}
            for m in meta["metrics"]:
                line[m] = mean_std([r[which].get(m) for r in recs])
                if _per_image_key(m):
                    line[f"{m}/img"] = mean_std([r[which][m] / r["data"]["test"] for r in recs
                                                 if r[which].get(m) is not None and r.get("data", {}).get("test")])
            out.append(line)
    return out


def table_columns(meta: dict[str, Any]) -> dict[str, str]:
    """Headers for :func:`table_rows`."""
    names = {"test_acc": "test accuracy", "test_mae": "MAE", "test_sq_dissim": "Σ (1 − cos)²", "test_scr": "SCR (sphere, test)", "train_scr_raw": "SCR (Eq. 13: raw, training)",
             "proto_min_sep": "MinSep (°)", "proto_mean_sep": "MeanSep (°)", "proto_std": "Std (°)",
             "dist_min": "closest pair 1 − cos", "dist_mean": "mean pair 1 − cos", "dist_max": "furthest pair 1 − cos"}
    cols = {"label": "row", "source": "source"}
    for m in meta["metrics"]:
        cols[m] = names.get(m, m)
        if _per_image_key(m):
            cols[f"{m}/img"] = "… per test image"
    cols.update({"scale": "epochs, train / test images", "hardware": "hardware", "seconds": "s per run"})
    return cols


def shown_label(label: str) -> str:
    """A row's label for the reader: the papers' "(ours)" names their authors' method, not hpnb's."""
    return re.sub(r"\s*\((?:ours|Ours)\)", " (the paper's method)", label)


def row_notes(meta: dict[str, Any]) -> str:
    """Markdown list of the rows' notes and the reasons rows cannot run ("" when there are none).

    A note shared by several rows is written once, after all their labels.
    """
    notes: dict[str, list[str]] = {}
    for label, row in sorted(meta["rows"].items(), key=lambda kv: kv[1]["index"]):
        if row.get("not_runnable"):
            notes.setdefault(f"not runnable: {row['not_runnable']}", []).append(shown_label(label))
        elif row.get("note"):
            notes.setdefault(row["note"], []).append(shown_label(label))
    return "\n".join(f"- {', '.join(f'*{label}*' for label in labels)}: {note}" for note, labels in notes.items())


def curve_groups(meta: dict[str, Any], records: Sequence[dict[str, Any]], profile: str) -> dict[str, dict[str, list]]:
    """Histories of one table and profile, grouped as HMPN's Figs. 1–6: one panel per objective
    (baseline vs proposed share an objective), one line per row, a list of histories (seeds) per line."""
    panels: dict[str, dict[str, list]] = {}
    order = {label: row["index"] for label, row in meta["rows"].items()}
    recs = [r for r in records if r["experiment"]["table"] == meta["key"] and r["experiment"].get("profile") == profile
            and r.get("history")]
    for rec in sorted(recs, key=lambda r: (order.get(r["experiment"]["label"], 99), r["experiment"].get("seed", 0))):
        panel = f"objective {rec['config'].get('objective', '?')}"
        panels.setdefault(panel, {}).setdefault(rec["experiment"]["label"], []).append(rec["history"])
    return panels


def cross_rows(records: Sequence[dict[str, Any]], which: str = "final") -> list[dict[str, Any]]:
    """All methods measured on the same data, network, dimension and scale, across tables.

    Groups records by (abstract dataset, arch, dim, epochs, train/test images, profile) and keeps groups
    with at least two methods; one line per (group, method, prototypes, mixing, assignment, table row),
    sorted by mean accuracy within the group.
    """
    groups: dict[tuple, dict[tuple, list[dict[str, Any]]]] = {}
    for rec in records:
        if not rec.get("history"):
            continue  # placement-only records train nothing
        e, c, d = rec["experiment"], rec["config"], rec.get("data", {})
        setting = (str(e.get("row_dataset") or d.get("name")), c.get("arch"), c.get("dim"), len(rec["history"]),
                   d.get("train"), d.get("test"), e.get("profile"))
        variant = (c.get("method"), c.get("prototypes"), c.get("objective"), bool(c.get("mixing")),
                   c.get("assignment"), f"{e['table']}: {e['label']}")
        groups.setdefault(setting, {}).setdefault(variant, []).append(rec)
    out = []
    for setting, variants in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if len({v[0] for v in variants}) < 2:
            continue
        dataset, arch, dim, epochs, n_train, n_test, profile = setting
        lines = []
        for (method, protos, objective, mixing, assignment, source), recs in variants.items():
            accs = [r[which].get("test_acc") for r in recs]
            sq = [r[which]["test_sq_dissim"] / r["data"]["test"] for r in recs if r[which].get("test_sq_dissim") is not None]
            lines.append({"setting": f"{dataset}, {arch}, d = {dim}, {epochs} ep., {n_train}/{n_test} img. ({profile})",
                          "method": method, "switches": f"{protos} / {objective} / {'mix' if mixing else 'no mix'} / {assignment}",
                          "from": source, "acc": mean_std(accs), "sq": mean_std(sq),
                          "_key": statistics.mean(a for a in accs if a is not None) if any(a is not None for a in accs) else -1})
        out += sorted(lines, key=lambda r: -r["_key"])
    for line in out:
        line.pop("_key")
    return out


CROSS_COLUMNS = {"setting": "setting", "method": "method", "switches": "prototypes / objective / mixing / assignment",
                 "from": "table: row", "acc": "test accuracy", "sq": "Σ (1 − cos)² per test image"}


# ---------------------------------------------------------------------------------------------
# The papers' claims, decided on the results (the verdict that opens book/09_results.ipynb).

@dataclass(frozen=True)
class Claim:
    """One main claim of a paper, as a comparison of two rows of one table on one metric.

    ``a`` is the row the claim favours, ``b`` the row it is compared with. ``direction``:
    ``"higher"`` (``a`` beats ``b``), ``"lower"`` (``a`` is below ``b``, e.g. a tighter
    Σ (1 − cos)²) or ``"at least"`` (``a`` matches or beats ``b``: a tie within the seeds'
    spread agrees). ``resolution``: the smallest difference that counts; ``None`` is one test
    image (``1 / test images``; summed metrics are compared per test image).
    """

    paper: str
    text: str
    table: str
    a: str
    b: str
    metric: str = "test_acc"
    direction: str = "higher"
    resolution: float | None = None


_CROSS = "in our shared CIFAR-10 setting (cross-cifar10)"

CLAIMS: tuple[Claim, ...] = (
    # HPN (Mettes et al. 2019): Tables 1-4 and §4.
    Claim("HPN", "Prototypes placed a priori match softmax CE when classes are large and balanced (CIFAR-100, d = C)",
          "hpn-table4", "HPN, CIFAR-100", "Softmax CE, CIFAR-100", direction="at least"),
    Claim("HPN", "Prototypes placed a priori beat softmax CE on uneven classes (CIFAR-100, 2 to 200 per class)",
          "hpn-table4", "HPN, CIFAR-100 2 to 200 per class", "Softmax CE, CIFAR-100 2 to 200 per class"),
    Claim("HPN", "Hyperspherical prototypes beat one-hot prototypes at d = C (CIFAR-100)",
          "hpn-table1-cifar100", "HPN, d = 100", "One-hot, d = 100"),
    Claim("HPN", "Hyperspherical prototypes beat word2vec prototypes at low d (CIFAR-100, d = 10)",
          "hpn-table1-cifar100", "HPN, d = 10", "Word2vec, d = 10"),
    Claim("HPN", "Privileged information helps at small outputs (CIFAR-100, d = 5)",
          "hpn-table3", "w/ privileged info, d = 5", "Hyperspherical prototypes, d = 5"),
    Claim("HPN", "HPN's placement separates the closest pair better than word2vec (100 prototypes, d = 100)",
          "hpn-table2", "HPN", "Word2vec", metric="dist_min", resolution=0.01),
    Claim("HPN", "HPN's placement pushes pairs beyond orthogonality, unlike one-hot (furthest pair, d = 100)",
          "hpn-table2", "HPN", "One-hot", metric="dist_max", resolution=0.01),
    Claim("HPN", "Prototypes placed a priori match or beat softmax CE at d > C " + _CROSS,
          "cross-cifar10", "hpn", "ce", direction="at least"),
    # HMPN (Lukashov 2026): Tables 1-3.
    Claim("HMPN", "Mixed prototypes (Eq. 3) beat their squared-cosine baseline (Eq. 1) on CIFAR-10",
          "hmpn-cifar10", "Dissimilarity, mixed prototypes (Eq. 3)", "Dissimilarity baseline (Eq. 1)"),
    Claim("HMPN", "Mixed prototypes (Eq. 4) beat their cross-entropy baseline (Eq. 2) on CIFAR-10",
          "hmpn-cifar10", "MCE, mixed prototypes (Eq. 4)", "MCE baseline (Eq. 2)"),
    Claim("HMPN", "With mixing, the similarity objective (Eq. 3) is more accurate than cross-entropy (Eq. 4) on CIFAR-10",
          "hmpn-cifar10", "Dissimilarity, mixed prototypes (Eq. 3)", "MCE, mixed prototypes (Eq. 4)"),
    Claim("HMPN", "With mixing, the similarity objective (Eq. 3) clusters test embeddings tighter than Eq. 4 (lower Σ (1 − cos)²)",
          "hmpn-cifar10", "Dissimilarity, mixed prototypes (Eq. 3)", "MCE, mixed prototypes (Eq. 4)",
          metric="test_sq_dissim", direction="lower"),
    Claim("HMPN", "Mixed prototypes (Eq. 3) beat their baseline (Eq. 1) on CIFAR-100",
          "hmpn-cifar100", "Dissimilarity, mixed prototypes (Eq. 3)", "Dissimilarity baseline (Eq. 1)"),
    Claim("HMPN", "Mixed prototypes (hmpn) beat the HPN baseline " + _CROSS, "cross-cifar10", "hmpn", "hpn"),
    # DL2PA (Saadabadi et al. 2024): abstract, Tables 1, 2, 6.
    Claim("DL2PA", "Dynamic assignment with d = C/2 beats fixed prototypes (HPN) with d = C (CIFAR-100)",
          "dl2pa-table2", "DL2PA (ours), CIFAR-100, d = 50", "HPN, CIFAR-100, d = 100"),
    Claim("DL2PA", "Dynamic assignment with d = C/2 beats a fixed simplex (ETF) with d = C (CIFAR-100)",
          "dl2pa-table2", "DL2PA (ours), CIFAR-100, d = 50", "ETF, CIFAR-100, d = 100"),
    Claim("DL2PA", "Dynamic assignment with d = C/2 beats fixed prototypes (HPN) with d = C (ImageNet-200)",
          "dl2pa-table2", "DL2PA (ours), ImageNet-200, d = 100", "HPN, ImageNet-200, d = 200"),
    Claim("DL2PA", "DL2PA beats the softmax classifier on long-tailed CIFAR-10 (imbalance 0.01)",
          "dl2pa-table6", "DL2PA (ours), CIFAR-10, d = 64, imbalance 0.01", "PSC, CIFAR-10, d = 64, imbalance 0.01"),
    Claim("DL2PA", "Dynamic assignment (dl2pa) beats HPN's fixed assignment " + _CROSS, "cross-cifar10", "dl2pa", "hpn"),
    # DPNP (Zarei-Sabzevar and Harati): Tables I-IV.
    Claim("DPNP", "DPNP beats softmax CE (CIFAR-10, 512-d)", "dpnp-table1", "DPNP (Ours), CIFAR-10 512D", "CE, CIFAR-10 512D"),
    Claim("DPNP", "The negative prototypes help: DPNP beats DPP (CIFAR-10, 512-d)",
          "dpnp-table1", "DPNP (Ours), CIFAR-10 512D", "DPP (Ours), CIFAR-10 512D"),
    Claim("DPNP", "DPNP beats softmax CE in a 3-d feature space (CIFAR-10)",
          "dpnp-table2", "DPNP (Ours), CIFAR-10 3D", "CE, CIFAR-10 3D"),
    Claim("DPNP", "DPNP separates class prototypes further than CE (MinSep, CIFAR-10, 512-d)",
          "dpnp-table3", "DPNP (Ours), CIFAR-10 512D", "CE, CIFAR-10 512D", metric="proto_min_sep", resolution=1.0),
    Claim("DPNP", "DPNP beats softmax CE " + _CROSS, "cross-cifar10", "dpnp", "ce"),
    Claim("DPNP", "DPNP beats DPP " + _CROSS, "cross-cifar10", "dpnp", "dpp"),
)

CLAIM_DIRECTIONS = ("higher", "lower", "at least")
PROFILE_ORDER = ("paper", "cpu", "quick")   # largest scale first: a claim's verdict is read at the first one run
VERDICT_COLUMNS = {"paper": "paper", "claim": "claim", "rows": "table: rows compared", "paper_values": "paper's numbers",
                   "scale": "our scale", "ours": "ours", "verdict": "verdict"}


def claim_problems(claims: Sequence[Claim] = CLAIMS) -> list[str]:
    """What is wrong with ``claims`` as data: unknown tables, rows or directions ([] when nothing)."""
    problems = []
    for c in claims:
        if c.direction not in CLAIM_DIRECTIONS:
            problems.append(f"{c.text}: direction {c.direction!r} not one of {CLAIM_DIRECTIONS}")
        if c.table not in experiments.TABLES:
            problems.append(f"{c.text}: no table {c.table!r}")
            continue
        table = experiments.TABLES[c.table]
        labels = {r.label for r in table.rows}
        problems += [f"{c.text}: table {c.table} has no row {x!r}" for x in (c.a, c.b) if x not in labels]
        if c.metric not in table.metrics:
            problems.append(f"{c.text}: table {c.table} does not report {c.metric!r}")
    return problems


def _profile_rank(profile: str) -> int:
    return PROFILE_ORDER.index(profile) if profile in PROFILE_ORDER else len(PROFILE_ORDER)


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if metric.startswith("proto_") else f"{value:.4f}" if abs(value) < 10 else f"{value:g}"


def _claim_values(recs: Sequence[dict[str, Any]], metric: str, which: str) -> list[float]:
    out = []
    for r in recs:
        v = r.get(which, {}).get(metric)
        if not isinstance(v, (int, float)):
            continue
        if _per_image_key(metric):
            n = r.get("data", {}).get("test")
            if not n:
                continue
            v = v / n
        out.append(float(v))
    return out


def profile_scale(recs: Sequence[dict[str, Any]], seeds: bool = True) -> str:
    """``"cpu: 12 ep., 4000 / 2000 img., 1 seed"``: the profile, epochs, train / test images and the
    number of distinct seeds of ``recs`` (``seeds=False``: without it)."""
    recs = list(recs)
    profile = _joined(str(r["experiment"].get("profile") or "?") for r in recs)
    k = len({r["experiment"].get("seed") for r in recs})
    n = f", {k} seed{'s' if k != 1 else ''}" if seeds else ""
    if all(not r.get("history") for r in recs):
        return f"{profile}: placement only{n}"
    epochs = _joined(str(len(r.get("history") or []) or r["config"].get("epochs", "?")) for r in recs)
    images = _joined(f"{r.get('data', {}).get('train', '?')} / {r.get('data', {}).get('test', '?')}" for r in recs)
    return f"{profile}: {epochs} ep., {images} img.{n}"


def _decide(claim: Claim, a_recs: Sequence[dict[str, Any]], b_recs: Sequence[dict[str, Any]],
            which: str, spreads: float) -> dict[str, Any]:
    """The verdict of ``claim`` on one profile's runs of its two rows."""
    a, b = _claim_values(a_recs, claim.metric, which), _claim_values(b_recs, claim.metric, which)
    if not a or not b:
        return {"status": "not run", "verdict": "not run", "ours": "–", "scale": "–"}
    resolution = claim.resolution
    if resolution is None:
        tests = [r.get("data", {}).get("test") for r in (*a_recs, *b_recs)]
        resolution = 1.0 / max(int(t) for t in tests) if all(tests) else 0.0
    cmp = _compare(a, b, spreads=spreads, resolution=resolution)
    sign = {"higher": 1, "at least": 1, "lower": -1}[claim.direction]
    favoured = {1: "higher", -1: "lower"}[sign]
    if min(len(a), len(b)) < 2:
        status, verdict = "inconclusive", "inconclusive: one seed"
    elif cmp.verdict == favoured or (cmp.verdict == "tied" and claim.direction == "at least"):
        status = verdict = "agrees"
    elif cmp.verdict == "tied":
        status, verdict = "inconclusive", "inconclusive: within the seeds' spread"
    else:
        status = verdict = "disagrees"
    unit = "/img." if _per_image_key(claim.metric) else ""
    ours = (f"{_fmt(cmp.mean_a, claim.metric)} vs {_fmt(cmp.mean_b, claim.metric)}{unit} "
            f"(diff {cmp.diff:+.4g}, margin {cmp.margin:.2g})")
    return {"status": status, "verdict": verdict, "ours": ours, "scale": profile_scale([*a_recs, *b_recs]),
            "diff": cmp.diff, "margin": cmp.margin, "n_a": len(a), "n_b": len(b)}


def verdicts(records: Sequence[dict[str, Any]], which: str = "paper", claims: Sequence[Claim] = CLAIMS,
             spreads: float = 2.0) -> list[dict[str, Any]]:
    """One line per claim: does what we measured agree with it, at the largest scale we ran both rows?

    For each claim the runs of its two rows are grouped by profile; the verdict is read at the
    largest profile (:data:`PROFILE_ORDER`) that has runs of both rows, with :func:`hpnb.claims.compare`
    over seeds (``spreads`` standard errors, and never less than ``resolution``). ``status``: ``agrees``,
    ``disagrees``, ``inconclusive`` (one seed on a side, or a difference within the margin), ``not run``
    or ``not runnable`` (a row hpnb cannot run). Keys: :data:`VERDICT_COLUMNS` plus ``status``,
    ``direction``, ``profile``, ``other`` (the verdicts at smaller profiles), ``why`` (not run or not
    runnable), and for a claim that was run ``diff``, ``margin``, ``n_a``, ``n_b`` (seeds per side).
    """
    out = []
    for claim in claims:
        table = experiments.TABLES.get(claim.table)
        rows = {r.label: r for r in table.rows} if table else {}
        source = table.source if table else claim.table
        metric = "" if claim.metric == "test_acc" else f" ({claim.metric})"
        line: dict[str, Any] = {"paper": claim.paper, "claim": claim.text, "rows": f"{source}: {claim.a} vs {claim.b}{metric}",
                                "paper_values": "–", "profile": None, "other": "", "direction": claim.direction}
        pa, pb = (rows[x].paper.get(claim.metric) if x in rows else None for x in (claim.a, claim.b))
        if pa is not None and pb is not None:
            line["paper_values"] = f"{_fmt(pa, claim.metric)} vs {_fmt(pb, claim.metric)}"
        elif table is not None and table.paper == "hpnb":
            line["paper_values"] = "no paper ran it"
        reasons = [f"{x}: {not_runnable(rows[x])}" for x in (claim.a, claim.b) if x in rows and not_runnable(rows[x])]
        if reasons:
            out.append({**line, "status": "not runnable", "verdict": "not runnable", "ours": "–", "scale": "–",
                        "why": "; ".join(reasons)})
            continue
        by_profile: dict[str, tuple[list, list]] = {}
        for rec in records:
            e = rec["experiment"]
            if e.get("table") != claim.table or e.get("label") not in (claim.a, claim.b):
                continue
            sides = by_profile.setdefault(str(e.get("profile") or "?"), ([], []))
            sides[0 if e["label"] == claim.a else 1].append(rec)
        run = sorted((p for p, (ra, rb) in by_profile.items() if ra and rb), key=lambda p: (_profile_rank(p), p))
        if not run:
            seen = {r["experiment"]["label"] for ra, rb in by_profile.values() for r in ra + rb}
            missing = [x for x in (claim.a, claim.b) if x not in seen]
            why = "no runs of " + " and ".join(missing) if missing else "the two rows were run at different profiles"
            out.append({**line, "status": "not run", "verdict": "not run", "ours": "–", "scale": "–", "why": why})
            continue
        decided = {p: _decide(claim, *by_profile[p], statistic(claim.table, which), spreads) for p in run}
        line.update(decided[run[0]], profile=run[0])
        line["other"] = "; ".join(f"{p}: {decided[p]['verdict']}" for p in run[1:])
        out.append(line)
    return out


def verdict_counts(lines: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many verdict lines have each status, in a fixed order (statuses with no line left out)."""
    order = ("agrees", "disagrees", "inconclusive", "not run", "not runnable")
    return {s: n for s in order if (n := sum(line["status"] == s for line in lines))}


def measured_scales(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per table and profile with runs, largest profile first: ``rows`` run, ``runs``, ``seeds_per_row``
    (the distinct counts), ``trains`` (False for placement tables), ``scale`` (:func:`profile_scale`)
    and ``setting`` (epochs and images, e.g. ``"12 ep., 4000 / 2000 img."``)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        e = rec["experiment"]
        groups.setdefault((e["table"], str(e.get("profile") or "?")), []).append(rec)
    out = []
    for (table, profile), recs in sorted(groups.items(), key=lambda kv: (kv[0][0], _profile_rank(kv[0][1]))):
        per_row: dict[str, set] = {}
        for r in recs:
            per_row.setdefault(r["experiment"]["label"], set()).add(r["experiment"].get("seed"))
        seeds = sorted({len(s) for s in per_row.values()})
        out.append({"table": table, "profile": profile, "rows": len(per_row), "runs": len(recs),
                    "seeds_per_row": seeds, "trains": any(r.get("history") for r in recs),
                    "scale": profile_scale(recs), "setting": profile_scale(recs, seeds=False).split(": ", 1)[1]})
    return out
