#!/usr/bin/env bash
# Installs the Debian packages Switchyard needs to build, run and test.
# Idempotent: when everything is present it only checks (dpkg -s) and returns in well under a second.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  libcaf-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libssl-dev sqlite3 curl procps python3 python3-grpcio
  graphviz openssl redis-server redis-tools haproxy libcurl4-openssl-dev libasio-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
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
# redis-server and haproxy are for tests, which start their own instances: keep
# the packages' init scripts from starting system-wide ones (policy-rc.d 101 =
# "action forbidden"), unless the machine already has a policy of its own.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
