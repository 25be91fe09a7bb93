#!/usr/bin/env bash
# Throughput of `dit serve` for N concurrent single-image requests, with batching (--max-batch 16)
# and one request at a time (--max-batch 1). Usage: scripts/serve-bench.sh CKPT [N] [STEPS] [PORT]
# Needs the project built (mvn -o -q compile; the classpath is taken from Maven) and curl.
set -euo pipefail
ckpt=$1; n=${2:-8}; steps=${3:-50}; port=${4:-18431}
here=$(cd "$(dirname "$0")/.." && pwd)
cp_file=$(mktemp)
(cd "$here" && mvn -q -B -o dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null)
cp="$here/target/classes:$(cat "$cp_file")"
run() {
  local batch=$1
  java -Xmx1g -cp "$cp" dit4j.cli.Main serve --checkpoint "$ckpt" --host 127.0.0.1 --port "$port" --max-batch "$batch" --max-queue 64 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
  # One warm-up request, then N at once.
  curl -sf -o /dev/null -X POST -d "{\"class\": 0, \"steps\": $steps}" "http://127.0.0.1:$port/v1/generate"
  local t0 t1
  t0=$(date +%s.%N)
  local clients=()
  for i in $(seq 1 "$n"); do
    curl -sf -o /dev/null -X POST -d "{\"class\": $((i % 10)), \"steps\": $steps, \"seed\": $i}" "http://127.0.0.1:$port/v1/generate" &
    clients+=($!)
  done
  wait "${clients[@]}"
  t1=$(date +%s.%N)
  local mean
  mean=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^dit4j_step_images_total/ {r=$2} /^dit4j_step_seconds_count/ {c=$2} END {printf "%.1f", r / c}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "max-batch $batch: $n requests x $steps steps in $(echo "$t1 - $t0" | bc) s ($(echo "scale=2; $n / ($t1 - $t0)" | bc) images/s), mean images per model call $mean"
}
run 16
run 1
rm -f "$cp_file"
