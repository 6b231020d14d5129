"""Print the key figures of finished runs: python benchmarks/summarise.py RUN_DIR [RUN_DIR ...]"""

import json
import statistics
import sys
from pathlib import Path

for run in sys.argv[1:]:
    res = json.loads((Path(run) / "results.json").read_text())
    cfg, final, best, prov = res["config"], res["final"], res["best"], res["provenance"]
    speed = statistics.median(r["train_images_per_s"] for r in res["history"])
    print(f"{cfg['method']:>8} {cfg['arch']} d={cfg['dim']} {len(res['history'])} epochs, {res['data']['train']} train / "
          f"{res['data']['test']} test: final acc {final['test_acc']:.4f}, best {best['test_acc']:.4f} (epoch {best['epoch']}), "
          f"final summed sq. dissimilarity {final['test_sq_dissim']:.1f}, median train {speed:.0f} img/s, "
          f"wall {prov['wall_seconds'] / 60:.1f} min on {prov['device_name']} ({prov['threads']} thread(s)), rev {prov['git_revision'][:8]}")
