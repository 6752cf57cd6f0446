#!/usr/bin/env bash
# Installs every Debian package kthw's build, tests and demo need. Idempotent and
# non-interactive: packages already present are not touched, and apt-get update runs only when
# something is missing.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config git
  libyaml-dev libssl-dev libssh2-1-dev libboost-dev rapidjson-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  openssh-server openssh-client openssl sudo util-linux procps kmod python3 bc time
  systemd-container debootstrap iproute2
  nginx libnginx-mod-stream haproxy socat
  age
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: run as root (apt-get install needs it)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with services (nginx, haproxy, sshd) are installed for their binaries: none of them
# may start on this machine, so installing holds starts off for the time of the install.
policy=/usr/sbin/policy-rc.d
held=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && held=1
  trap '[ -n "$held" ] && rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
