#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, starts four
# demo instances (web-a on :18081, web-b on :18082, db-a and db-b on :18083
# and :18084; the -a ones on site dc1, the -b ones on dc2) and switchyardd on
# config/examples/demo.yaml. The first time the -a ones are the primaries; when
# data/switchyard.db exists (a second run) each instance starts in the role the
# database holds, as switchyardd does (scripts/demo-roles.sh).
# Ctrl-C stops everything it started.
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

# Each instance in the role switchyardd holds: the database's (a second run,
# after a failover) or else the configuration's.
source scripts/demo-roles.sh
db=data/switchyard.db
declare -A role pid port
start_instance() { # NAME PORT SERVICE CONFIGURED_ROLE
  port[$1]=$2
  role[$1]=$(demo_role "$db" "$3" "$1" "$4")
  build/apps/demo_service --name "$1" --port "$2" --role "${role[$1]}" >"data/demo/$1.log" 2>&1 &
  pids+=($!)
  pid[$1]=$!
}
start_instance web-a 18081 web primary
start_instance web-b 18082 web standby
start_instance db-a 18083 db primary
start_instance db-b 18084 db standby

# The primary of web and its standby, whichever they are now.
primary=web-a standby=web-b
if [[ ${role[web-b]} == primary ]]; then primary=web-b standby=web-a; fi
if [[ -f $db ]]; then
  origin="from $db (the database wins over demo.yaml; delete data/ to start over)"
else
  origin="from config/examples/demo.yaml"
fi
line() { # NAME SITE
  printf '  %-6s http://127.0.0.1:%s  %-8s pid %-8s site %s  (log: data/demo/%s.log)\n' \
    "$1" "${port[$1]}" "${role[$1]}" "${pid[$1]}" "$2" "$1"
}

cat <<EOT

  Switchyard demo
  ---------------
$(line web-a dc1)
$(line web-b dc2)
$(line db-a dc1)
$(line db-b dc2)
  roles $origin
  database: $repo/data/switchyard.db

  To see a failover, in another terminal:   kill -9 ${pid[$primary]}   (web's primary, $primary)
  Then ask the new primary:                  curl http://127.0.0.1:${port[$standby]}/role
  And switchyardd (demo token):              SWITCHYARD_TOKEN=demo-viewer-token build/apps/switchyard/switchyard services
  Afterwards, bring $primary back as a standby (switchyardd's rejoin action makes sure it is one):
    build/apps/demo_service --name $primary --port ${port[$primary]} --role standby >>data/demo/$primary.log 2>&1 &
  A DR drill of site dc2 (docs/disaster-recovery.md):
    SWITCHYARD_TOKEN=demo-operator-token build/apps/switchyard/switchyard drill --site dc2 --yes
  Ctrl-C here stops everything.

EOT

build/apps/switchyardd/switchyardd --config config/examples/demo.yaml &
pids+=($!)
wait "${pids[-1]}"
