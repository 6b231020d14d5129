#!/usr/bin/env bash
# CPU benchmark: ResNet-20, HPN vs HMPN in HMPN Table 1's setting (Adam 1e-3, RandAugment, d = 64)
# on 10k CIFAR-10 training images (class-stratified), 20 epochs, the full 10k test set each epoch.
# The two runs go side by side, one thread each (two cores). Needs the CIFAR-10 JPEG zips
# (CIFAR_DIR, default ../shared/data). Results: data/runs/bench-cifar10-{hpn,hmpn}/results.json
set -euo pipefail
cd "$(dirname "$0")/.."
CIFAR_DIR=${CIFAR_DIR:-../shared/data}
common=(--dataset "cifar10-jpeg:$CIFAR_DIR" --arch resnet20 --dim 64 --epochs 20 --train-limit 10000
        --recipe hmpn --augment randaugment --batch-size 128 --resume)
.venv/bin/python -c "from hpnb.data import load; load('cifar10-jpeg:$CIFAR_DIR')"  # decode once
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for method in hpn hmpn; do
  .venv/bin/python -m hpnb train --method $method "${common[@]}" --out data/runs/bench-cifar10-$method \
    > data/runs/bench-cifar10-$method.log 2>&1 &
done
wait
.venv/bin/python benchmarks/summarise.py data/runs/bench-cifar10-hpn data/runs/bench-cifar10-hmpn
