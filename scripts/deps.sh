#!/usr/bin/env bash
# scripts/deps.sh — install the Debian 12 packages anx needs (idempotent; root or sudo).
#   scripts/deps.sh         build + test dependencies
#   scripts/deps.sh bench   also the benchmark peers (python3-torch, lua5.4)
#   scripts/deps.sh fuzz    also clang + libFuzzer (tests/fuzz, scripts/ci-fuzz.sh)
#   scripts/deps.sh coverage  also gcovr (make coverage)
set -euo pipefail

pkgs=(build-essential cmake re2c bison libedit-dev zlib1g-dev libjansson-dev libopenblas-dev
      dataset-fashion-mnist python3 python3-numpy)
if [ "${1:-}" = bench ]; then
  pkgs+=(python3-torch lua5.4 hyperfine)
fi
if [ "${1:-}" = fuzz ]; then
  pkgs+=(clang libclang-rt-14-dev llvm)
fi
if [ "${1:-}" = coverage ]; then
  pkgs+=(gcovr)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
