#!/usr/bin/env bash
# Installs the Debian packages Switchyard needs to build, run and test.
# Idempotent: when everything is present it only checks (one dpkg-query) and returns in well under a second.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  libcaf-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libssl-dev sqlite3 curl procps python3 python3-grpcio
  graphviz openssl redis-server redis-tools haproxy libcurl4-openssl-dev libasio-dev
  etcd-server etcd-client golang-etcd-server-dev golang-github-gogo-protobuf-dev
  libzstd-dev zstd
  libpq-dev postgresql-15
  golang-github-gogo-googleapis-dev
)

# Installed means status "ii": `dpkg -s` also succeeds for a package that was
# removed but left its configuration files ("rc"), whose binaries are gone.
declare -A state=()
while read -r name abbrev; do
  state[${name%%:*}]=$abbrev
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
  [[ ${state[$p]:-} == ii ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# redis-server, haproxy, etcd-server and postgresql-15 are for tests, which start their own
# instances: keep the packages' init scripts from starting system-wide ones
# (policy-rc.d 101 = "action forbidden"), unless the machine already has a
# policy of its own.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# A system etcd on 2379 would answer where a test expects nothing (the tests'
# members use ports of their own). policy-rc.d keeps the package from starting
# it, but under systemd the package still enables the unit (it would start at
# the next boot), and a machine's own policy may allow starts: stop and disable
# whatever the install left running or enabled.
if [[ -d /run/systemd/system ]]; then
  if systemctl is-enabled --quiet etcd.service 2>/dev/null ||
    systemctl is-active --quiet etcd.service 2>/dev/null; then
    echo "install-deps: stopping and disabling the system etcd service (tests start their own)"
    systemctl disable --now etcd.service || true
  fi
elif [[ -x /etc/init.d/etcd ]] && /etc/init.d/etcd status >/dev/null 2>&1; then
  echo "install-deps: stopping the system etcd (tests start their own)"
  /etc/init.d/etcd stop || true
fi
