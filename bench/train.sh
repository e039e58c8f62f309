#!/usr/bin/env bash
# bench/train.sh — the three training workloads of issue 8 in anx and in PyTorch, one after the
# other in one run, side by side: training rate, accuracy (val loss for charlm), peak RSS, ratios.
# Both sides run with OPENBLAS_CORETYPE unset; PyTorch with OPENBLAS_NUM_THREADS=1 and 2 torch
# threads (the tuned peer); anx picks its own threading.
# Usage: bench/train.sh [BUILD_DIR] [mlp cnn charlm]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
WORKLOADS=${*:-mlp cnn charlm}
ANX=$BUILD/anx
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench/train.sh: needs GNU time (apt-get install time)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {  # run NAME CMD... -> $out/NAME.res (RESULT line) and $out/NAME.rss (KiB)
  local name=$1; shift
  env -u OPENBLAS_CORETYPE "$TIME" -f "%M" -o "$out/$name.rss" "$@" > "$out/$name.log" 2>&1 || {
    echo "$name failed:"; tail -20 "$out/$name.log"; return 1; }
  grep '^RESULT' "$out/$name.log" > "$out/$name.res"
}
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$out/$1.res"; }

printf '%-8s %14s %14s %7s %10s %10s %9s %9s %7s\n' workload anx_rate torch_rate ratio anx_metric torch_metric anx_MB torch_MB mem
for w in $WORKLOADS; do
  run "anx_$w" "$ANX" "bench/train_$w.anx"
  run "torch_$w" env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train_torch.py "$w"
  ar=$(field "anx_$w" rate); tr=$(field "torch_$w" rate)
  am=$(field "anx_$w" metric); tm=$(field "torch_$w" metric)
  ak=$(cat "$out/anx_$w.rss"); tk=$(cat "$out/torch_$w.rss")
  awk -v w="$w" -v ar="$ar" -v tr="$tr" -v am="$am" -v tm="$tm" -v ak="$ak" -v tk="$tk" 'BEGIN {
    printf "%-8s %14.1f %14.1f %6.2fx %10.4f %10.4f %9.1f %9.1f %6.2fx\n", w, ar, tr, ar / tr, am, tm, ak / 1024, tk / 1024, ak / tk }'
done
echo "rate: training samples/s (tokens/s for charlm); metric: test accuracy (val loss for charlm); MB: peak RSS"
