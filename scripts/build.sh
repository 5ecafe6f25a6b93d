#!/usr/bin/env bash
# Configures and builds Switchyard with CMake + Ninja.
#   scripts/build.sh [BUILD_DIR] [extra cmake args...] [-- targets...]
# Defaults: build dir ./build, RelWithDebInfo, all targets.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true
cmake_args=()
targets=()
seen_sep=0
for a in "$@"; do
  if [[ $a == "--" ]]; then seen_sep=1; continue; fi
  if ((seen_sep)); then targets+=("$a"); else cmake_args+=("$a"); fi
done

if [[ ! -f $build_dir/build.ninja ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}"
elif ((${#cmake_args[@]})); then
  cmake -S . -B "$build_dir" "${cmake_args[@]}"
fi
# Two jobs: the reference machine has 2 cores; more only thrashes memory on CAF-heavy files.
cmake --build "$build_dir" --parallel 2 ${targets[@]:+--target "${targets[@]}"}
