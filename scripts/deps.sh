#!/usr/bin/env bash
# Installs the Debian packages Failed Star builds with, when they are missing. As root it installs them; otherwise
# it prints the one apt command to run and exits non-zero.
set -euo pipefail
PACKAGES=(cmake g++ make pkg-config nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev libgtest-dev
  libcpp-httplib-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Failed Star needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
