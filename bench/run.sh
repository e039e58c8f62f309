#!/bin/sh
# bench/run.sh — language benchmarks: anx against lua5.4 and python3 on the same workloads, in
# one run (the machines are shared and noisy, so only same-run ratios mean anything), plus the
# startup time of `anx -e ''`.  Usage: bench/run.sh [BUILD_DIR]   (default: build)
# Times: with hyperfine the mean CPU time (user + system) of 7 runs, since other jobs on a shared
# machine inflate wall time; without hyperfine the median wall time of 5 runs.
set -eu
BUILD=${1:-build}
ANX="$BUILD/anx"
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$ANX" ] || { echo "bench/run.sh: $ANX not found (build first: make build)" >&2; exit 1; }

have_hyperfine() { command -v hyperfine >/dev/null 2>&1; }

# hyperfine_ms FIELD CMD: FIELD "cpu" (mean user+system) or "wall" (median) in ms.
hyperfine_ms() {
  tmp=$(mktemp)
  hyperfine -N -w 1 -r 7 --export-json "$tmp" "$2" >/dev/null 2>&1
  python3 - "$tmp" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.1f" % (((r["user"] + r["system"]) if sys.argv[2] == "cpu" else r["median"]) * 1000))
PY
  rm -f "$tmp"
}

loop_ms() {   # median wall ms of CMD over 5 runs after a warm-up
  sh -c "$1" >/dev/null 2>&1
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); sh -c "$1" >/dev/null 2>&1; e=$(date +%s%N)
    echo $(( (e - s) / 1000 ))
  done | sort -n | sed -n 3p | awk '{ printf "%.1f\n", $1 / 1000 }'
}

time_ms() { if have_hyperfine; then hyperfine_ms cpu "$1"; else loop_ms "$1"; fi; }
wall_ms() { if have_hyperfine; then hyperfine_ms wall "$1"; else loop_ms "$1"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Wall time of startup with OpenBLAS's default thread pool (its load-time constructor starts
# worker threads that compete for the cores): measured first, shown so the cost stays visible.
startup_default=$(wall_ms "$ANX -e ''")
# Everything else single-threaded: these workloads are scalar.
export OPENBLAS_NUM_THREADS=1

printf "%-12s %10s %10s %10s %12s %12s\n" workload "anx ms" "lua5.4 ms" "python3 ms" "anx/lua" "anx/python"
for w in fib loop; do
  a=$(time_ms "$ANX $HERE/lang_$w.anx")
  if command -v lua5.4 >/dev/null 2>&1; then l=$(time_ms "lua5.4 $HERE/lang_$w.lua"); else l=0; fi
  if command -v python3 >/dev/null 2>&1; then p=$(time_ms "python3 $HERE/lang_$w.py"); else p=0; fi
  printf "%-12s %10s %10s %10s %12s %12s\n" "lang_$w" "$a" "$l" "$p" "$(ratio "$a" "$l")" "$(ratio "$a" "$p")"
done
printf "%-12s %10s   (CPU ms; target: under 5 ms)\n" "startup" "$(time_ms "$ANX -e ''")"
printf "%-12s %10s   (wall ms, OPENBLAS_NUM_THREADS=1)\n" "startup" "$(wall_ms "$ANX -e ''")"
printf "%-12s %10s   (wall ms, OpenBLAS default threads)\n" "startup" "$startup_default"
