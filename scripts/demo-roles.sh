#!/usr/bin/env bash
# The role a demo instance must start in: the one switchyardd holds for it.
# switchyardd takes each service's primary from its database when the file
# exists (the database wins over config/examples/demo.yaml: after a failover,
# web-b stays the primary across restarts), so scripts/run-demo.sh starts the
# instances in those roles. The topology is the `services` table:
# `current_primary` per service (persistence/migrations.cpp).
#
#   bash scripts/demo-roles.sh DB SERVICE INSTANCE DEFAULT_ROLE   # prints primary or standby
#   source scripts/demo-roles.sh; demo_role DB SERVICE INSTANCE DEFAULT_ROLE
#
# DEFAULT_ROLE (the configuration's) when DB does not exist or does not know
# SERVICE yet; a DB that cannot be read is reported on stderr.

demo_role() {
  local db=$1 service=$2 instance=$3 default=$4 primary="" out
  if [[ -f $db ]]; then
    if out=$(sqlite3 -readonly -cmd '.timeout 5000' "$db" \
      "SELECT current_primary FROM services WHERE name = '${service//\'/\'\'}' AND configured = 1" 2>&1); then
      primary=$out
    else
      echo "demo-roles: cannot read $db ($out): $instance starts as $default" >&2
    fi
  fi
  if [[ -z $primary ]]; then
    echo "$default"
  elif [[ $primary == "$instance" ]]; then
    echo primary
  else
    echo standby
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  if (($# != 4)); then
    echo "usage: $0 DB SERVICE INSTANCE DEFAULT_ROLE" >&2
    exit 1
  fi
  demo_role "$@"
fi
