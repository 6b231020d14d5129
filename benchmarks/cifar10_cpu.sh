#!/usr/bin/env bash
# CPU benchmark of issue 3: ResNet-20, HPN vs HMPN (HMPN Table 1's setting: Adam 1e-3, RandAugment,
# d = 64) on 10k CIFAR-10 training images (stratified), 20 epochs, the full 10k test set.
# Needs ../shared/data/cifar10-jpeg-*.zip (or set CIFAR_DIR). Results: data/runs/bench-cifar10-*/results.json
set -euo pipefail
cd "$(dirname "$0")/.."
CIFAR_DIR=${CIFAR_DIR:-../shared/data}
common=(--dataset "cifar10-jpeg:$CIFAR_DIR" --arch resnet20 --dim 64 --epochs 20 --train-limit 10000
        --recipe hmpn --augment randaugment --batch-size 128)
.venv/bin/python -m hpnb train --method hpn "${common[@]}" --out data/runs/bench-cifar10-hpn --resume
.venv/bin/python -m hpnb train --method hmpn "${common[@]}" --out data/runs/bench-cifar10-hmpn --resume
