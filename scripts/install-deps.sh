#!/usr/bin/env bash
# Installs the Debian packages vmowner builds and tests with, only those missing.
# Usage: scripts/install-deps.sh [extra packages...]
set -euo pipefail
packages=(pkg-config libdw-dev libelf-dev liblzma-dev zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev makedumpfile xz-utils binutils gdb dwarves gcc-aarch64-linux-gnu "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
