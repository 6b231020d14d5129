"""Print the key figures of finished runs or benchmark results:

    python benchmarks/summarise.py RUN_DIR [RUN_DIR ...]        # training runs (RUN_DIR/results.json)
    python benchmarks/summarise.py data/bench/pipeline.json ...  # JSON written by the benchmarks/*.py scripts
"""

import json
import statistics
import sys
from pathlib import Path


def summarise_run(run: Path) -> None:
    res = json.loads((run / "results.json").read_text())
    cfg, final, best, prov = res["config"], res["final"], res["best"], res["provenance"]
    speed = statistics.median(r["train_images_per_s"] for r in res["history"])
    print(f"{cfg['method']:>8} {cfg['arch']} d={cfg['dim']} {len(res['history'])} epochs, {res['data']['train']} train / "
          f"{res['data']['test']} test: final acc {final['test_acc']:.4f}, best {best['test_acc']:.4f} (epoch {best['epoch']}), "
          f"final summed sq. dissimilarity {final['test_sq_dissim']:.1f}, median train {speed:.0f} img/s, "
          f"wall {prov['wall_seconds'] / 60:.1f} min on {prov['device_name']} ({prov['threads']} thread(s)), rev {prov['git_revision'][:8]}")


def summarise_benchmark(res: dict) -> None:
    prov = res["provenance"]
    where = (f"{prov['device_name']} ({prov['device']}, {prov['threads']} thread(s)), {prov['date']}, "
             f"rev {prov['git_revision'][:8]}{' (dirty)' if prov.get('git_dirty') else ''}")
    kind = res["benchmark"]
    if kind == "pipeline":
        s = res["settings"]
        print(f"pipeline: {s['train_images']} {s['dataset']} images, {s['arch']} d={s['dim']}, batch {s['batch_size']}: "
              f"hpnb {res['hpnb']['images_per_s']:.1f} img/s, plain ({s['workers']} workers) "
              f"{res['plain']['images_per_s']:.1f} img/s, ratio {res['ratio_hpnb_over_plain']:.2f}x; {where}")
    elif kind == "hungarian":
        cells = ", ".join(f"{r['scenario']} C={r['classes']}: {1e3 * r['solve_s']:.1f} ms" for r in res["rows"])
        print(f"hungarian (DynamicAssignment.solve): {cells}; {where}")
    elif kind == "solvers":
        cells = ", ".join(f"{r['num_classes']}x{r['dim']} {r['method']}: {r['seconds']:.2f} s / {r['max_cos']:+.4f}"
                          for r in res["rows"])
        print(f"solvers (time / max cos): {cells}; {where}")
    else:
        print(f"{kind}: unknown benchmark kind; {where}")


for arg in sys.argv[1:]:
    path = Path(arg)
    if path.is_file() and path.suffix == ".json":
        summarise_benchmark(json.loads(path.read_text()))
    else:
        summarise_run(path)
