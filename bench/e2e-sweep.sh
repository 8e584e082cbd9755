#!/usr/bin/env bash
# The short end-to-end sweep `npm run bench` runs after the micro benchmarks: bench e2e
# (raw, kernel tc and pspat on one veth) at 1 and 64 classes, pspat with and without a
# transmit worker, then bench arbiter on a small grid. Tables on stdout; RUN.json files
# in runs/ for `pspat report`. The e2e part needs root and the native addon.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
pspat() { node bin/pspat.js "$@"; }

if [ "$(id -u)" = 0 ] && [ -f native/build/Release/pspat_native.node ]; then
  for classes in 1 64; do
    for tx in 0 1; do
      echo "== bench e2e: $classes classes, pspat with $tx transmit workers"
      pspat bench e2e --classes "$classes" --tx-workers "$tx" --seconds 1 --save "runs/bench-e2e-c$classes-tx$tx.json"
      echo
    done
  done
else
  echo "== bench e2e skipped: it needs root and the native addon (npm run build:native)"
fi
echo "== bench arbiter"
pspat bench arbiter --clients 1,4,64 --classes 1,64,4096 --seconds 0.5 --save runs/bench-arbiter.json
