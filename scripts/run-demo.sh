#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, starts four
# demo instances (web-a primary on :18081, web-b standby on :18082, db-a and
# db-b on :18083 and :18084; the -a ones on site dc1, the -b ones on dc2) and
# switchyardd on config/examples/demo.yaml. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install-deps.sh
bash scripts/build.sh build -- switchyardd switchyard demo_service

mkdir -p data/demo
for port in 18081 18082 18083 18084 7400; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "run-demo: port $port is already in use (an earlier demo still running?)" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run-demo: stopped switchyardd and the demo instances"
}
trap cleanup INT TERM EXIT

build/apps/demo_service --name web-a --port 18081 --role primary >data/demo/web-a.log 2>&1 &
pids+=($!)
pid_a=$!
build/apps/demo_service --name web-b --port 18082 --role standby >data/demo/web-b.log 2>&1 &
pids+=($!)
pid_b=$!
build/apps/demo_service --name db-a --port 18083 --role primary >data/demo/db-a.log 2>&1 &
pids+=($!)
build/apps/demo_service --name db-b --port 18084 --role standby >data/demo/db-b.log 2>&1 &
pids+=($!)

cat <<EOT

  Switchyard demo
  ---------------
  web-a  http://127.0.0.1:18081  primary  pid $pid_a   (log: data/demo/web-a.log)
  web-b  http://127.0.0.1:18082  standby  pid $pid_b   (log: data/demo/web-b.log)
  db-a   http://127.0.0.1:18083  primary  (site dc1)   db-b http://127.0.0.1:18084 standby (site dc2)
  database: $repo/data/switchyard.db

  To see a failover, in another terminal:   kill -9 $pid_a
  Then ask the new primary:                  curl http://127.0.0.1:18082/role
  And switchyardd (demo token):              SWITCHYARD_TOKEN=demo-viewer-token build/apps/switchyard/switchyard services
  A DR drill of site dc2 (docs/disaster-recovery.md):
    SWITCHYARD_TOKEN=demo-operator-token build/apps/switchyard/switchyard drill --site dc2 --yes
  Ctrl-C here stops everything.

EOT

build/apps/switchyardd/switchyardd --config config/examples/demo.yaml &
pids+=($!)
wait "${pids[-1]}"
