#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs the
# whole test suite (unit + integration), then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Two tests at a time: the
# reference machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build (RelWithDebInfo) =="
bash scripts/build.sh build
echo "== tests =="
(cd build && ctest -j2 --output-on-failure --timeout 300)

echo "== sanitizer build (ASan + UBSan, Debug) =="
# Only the unit suites are run here, so only they are built (unit_tests).
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DSWITCHYARD_SANITIZE=ON -- unit_tests
echo "== unit tests under ASan + UBSan =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j2 --output-on-failure --timeout 300 -L unit)
