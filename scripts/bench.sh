#!/usr/bin/env bash
# Builds every benchmark (RelWithDebInfo) and runs them all with settings that
# take a few minutes in all, then prints one table of every figure.
#   scripts/bench.sh [BUILD_DIR]        (default: build-bench)
# Environment: BENCH_QUICK=1 runs shorter versions (smoke test, not figures).
# Each run's full output is kept in BUILD_DIR/bench-results/<name>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-bench}
quick=${BENCH_QUICK:-0}
wanted=(plan_bench pipeline_bench api_bench journal_bench probe_bench failover_bench pg_failover_bench
  election_bench cluster_bench backup_bench)
targets=(switchyardd)
for t in "${wanted[@]}"; do
  if grep -q "add_executable($t " bench/CMakeLists.txt; then targets+=("$t"); fi
done

echo "== building ${targets[*]} in $build_dir (RelWithDebInfo)"
if ! bash scripts/build.sh "$build_dir" -- "${targets[@]}"; then
  echo "build failed" >&2
  exit 1
fi

out="$build_dir/bench-results"
mkdir -p "$out"
rm -f "$out"/*.log # no stale figures from an earlier run
table="$out/table.tsv"
: >"$table"
notes=()

# row BENCH NAME VALUE UNIT
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$table"; }

# run NAME ARGS...: runs build/bench/NAME, output to the log and the terminal.
run() {
  local name=$1 log=$out/$1${LOG_SUFFIX:-}.log
  shift
  local bin=$build_dir/bench/$name
  if [[ ! -x $bin ]]; then
    notes+=("$name: not built (no target in bench/CMakeLists.txt, or its build failed): skipped")
    echo "== $name: missing, skipped"
    return 1
  fi
  echo "== $name $*"
  local start=$SECONDS
  "$bin" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start)) s"
  ((rc == 0)) || notes+=("$name $*: exit code $rc (see $log)")
  # Our own benchmarks print `RESULT name value unit`.
  awk -v b="$name" '$1 == "RESULT" { printf "%s\t%s\t%s\t%s\n", b, $2, $3, $4 }' "$log" >>"$table"
  return 0
}

if ((quick)); then
  run plan_bench 1000
  LOG_SUFFIX=-disk run pipeline_bench --services 500 --failovers 20 --dir /var/tmp --label disk
  LOG_SUFFIX=-tmpfs run pipeline_bench --services 500 --failovers 20 --dir /dev/shm --label tmpfs
  run api_bench --services 100 --seconds 2 --watchers 10 --events 1000
  run journal_bench 100
  run probe_bench 500 5 tcp
  run failover_bench 1
  run pg_failover_bench 1 --fault postmaster
  run election_bench 2
  run cluster_bench 2 1
  run backup_bench --mb 16 --rows 5000 --dir /var/tmp
else
  run plan_bench 10000
  # The same failovers with the database on disk (every commit an fsync of
  # /var/tmp) and on tmpfs (/dev/shm: fsync costs nothing): their difference is
  # what the fsyncs on the path cost.
  LOG_SUFFIX=-disk run pipeline_bench --services 5000 --failovers 1000 --dir /var/tmp --label disk
  LOG_SUFFIX=-tmpfs run pipeline_bench --services 5000 --failovers 1000 --dir /dev/shm --label tmpfs
  # The same under the former stand-in load (CAF messages instead of real probes).
  LOG_SUFFIX=-samples run pipeline_bench --services 5000 --failovers 1000 --dir /dev/shm \
    --label tmpfs_samples --load samples
  run api_bench --services 1000 --clients 16 --seconds 10 --watchers 100 --events 10000
  run journal_bench 1000
  run probe_bench 10000 20 tcp,http
  run failover_bench 3
  # PostgreSQL: both faults, asynchronous and synchronous, 20 runs each (~5 min).
  run pg_failover_bench 20
  run election_bench 20
  run cluster_bench 20 10
  run backup_bench --mb 1024 --rows 100000 --dir /var/tmp
fi
# Figures of the benchmarks that print tables rather than RESULT lines.
if [[ -f $out/plan_bench.log ]]; then
  awk '/^plan every service/ { print "plan_bench\tplan_every_service\t" $4 "\tms" }
       /^export / { print "plan_bench\texport_" $2 "\t" $3 "\tms" }' "$out/plan_bench.log" >>"$table"
fi
if [[ -f $out/journal_bench.log ]] && ! grep -q '^RESULT' "$out/journal_bench.log"; then
  awk '/^journal rows\/s/ { print "journal_bench\tjournal_rows_per_s\t" $NF "\trows/s" }
       /^commits/ { print "journal_bench\tcommits\t" $NF "\tcount" }
       /^mean commit time/ { print "journal_bench\tmean_commit_time\t" $NF "\tms" }' \
    "$out/journal_bench.log" >>"$table"
fi
if [[ -f $out/failover_bench.log ]]; then
  awk '$1 == "med" { print "failover_bench\tmedian_detection\t" $2 "\tms";
                     print "failover_bench\tmedian_failover\t" $3 "\tms";
                     print "failover_bench\tmedian_first_write\t" $4 "\tms" }' \
    "$out/failover_bench.log" >>"$table"
fi

echo
echo "== all figures ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $build_dir)"
printf '%-16s %-38s %14s  %s\n' benchmark figure value unit
awk -F'\t' '{ printf "%-16s %-38s %14s  %s\n", $1, $2, $3, $4 }' "$table"
if [[ -f $out/probe_bench.log ]]; then
  echo
  echo "== probe_bench (its own table)"
  grep -E '^(type|tcp|http) ' "$out/probe_bench.log" || true
fi
for n in "${notes[@]}"; do echo "note: $n"; done
