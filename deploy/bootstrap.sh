#!/usr/bin/env bash
# Installs every build and run dependency from Debian 12 packages. Idempotent: when all
# packages are present it returns in well under a second without touching apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates procps
  libcaf-dev libnats-dev nats-server libcurl4-openssl-dev libwebsockets-dev
  nlohmann-json3-dev libpqxx-dev libfmt-dev catch2 libvalijson-dev libyaml-cpp-dev
  libbenchmark-dev uuid-dev libcpp-httplib-dev libssl-dev postgresql-15 postgresql-client-15
  clang-14 libclang-rt-14-dev
  zlib1g-dev
  librapidcheck-dev  # property tests (issue 4: risk limits hold in every state)
)
# Node.js runs ccxt, the real client that judges venue-sim (tests/ccxt). A machine that already
# has node and npm (e.g. from NodeSource) keeps them: Debian's npm package would conflict.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# policy-rc.d keeps the Debian postgresql package from starting a system cluster: the
# project runs its own private clusters.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
