#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs the
# whole test suite (unit + integration) under AddressSanitizer +
# UndefinedBehaviorSanitizer: the daemon, the CLI and the demo services the
# integration suites start are sanitized too. One build: a second, unsanitized
# one would double the time and test nothing more. Two tests at a time: the
# reference machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build (Debug, ASan + UBSan) =="
bash scripts/build.sh build-test -DCMAKE_BUILD_TYPE=Debug -DSWITCHYARD_SANITIZE=ON
echo "== tests under ASan + UBSan =="
(cd build-test && ASAN_OPTIONS=detect_leaks=1 ctest -j2 --output-on-failure --timeout 300)
