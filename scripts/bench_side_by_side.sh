#!/usr/bin/env bash
# dit4j and the official DiT code measured one after the other on this machine: DiT-S/2, 32x32x4
# latents, batch 8, 30 s per figure. Writes one JSON per run into OUT (default docs/bench).
#   scripts/bench_side_by_side.sh /path/to/facebookresearch/DiT [OUT]
# The official code runs on Debian's python3-torch, with OpenBLAS preloaded (Debian's default BLAS
# alternative may be the reference BLAS, ~30x slower) and PyTorch's default (1) and 2 OpenMP threads.
set -euo pipefail
cd "$(dirname "$0")/.."
official="${1:?usage: bench_side_by_side.sh DIT_REPO [OUT]}"
out="${2:-docs/bench}"
mkdir -p "$out"
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
[[ -f "$openblas" ]] || { echo "needs OpenBLAS: apt-get install libopenblas0-pthread" >&2; exit 1; }
for mode in train sample; do
  for dtype in float32 bfloat16; do
    ./dit bench --model DiT-S/2 --latent-size 32 --batch 8 --seconds 30 --mode "$mode" --dtype "$dtype" --json > "$out/dit4j-$mode-$dtype.json"
  done
  LD_PRELOAD=$openblas /usr/bin/python3 scripts/bench_official.py --dit-repo "$official" --mode "$mode" --seconds 30 > "$out/official-$mode.json"
  OMP_NUM_THREADS=2 LD_PRELOAD=$openblas /usr/bin/python3 scripts/bench_official.py --dit-repo "$official" --mode "$mode" --seconds 30 > "$out/official-omp2-$mode.json"
done
