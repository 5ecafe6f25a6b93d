#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs the
# whole test suite (unit + integration) under AddressSanitizer +
# UndefinedBehaviorSanitizer: the daemon, the CLI and the demo services the
# integration suites start are sanitized too. One build: the optimized one is
# the demo's (run-demo.sh) and the benchmarks' (bench.sh). Three tests at a time on
# the 2-core reference machine: the integration suites spend much of their
# time waiting on their child processes (the whole suite: 168 s at -j2, 137 s
# at -j3, 134 s at -j4; every run passed).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build (Debug, ASan + UBSan) =="
bash scripts/build.sh build-test -DCMAKE_BUILD_TYPE=Debug -DSWITCHYARD_SANITIZE=ON
echo "== tests under ASan + UBSan =="
(cd build-test && ASAN_OPTIONS=detect_leaks=1 ctest -j3 --output-on-failure --timeout 300)
