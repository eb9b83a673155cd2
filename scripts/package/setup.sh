#!/usr/bin/env bash
# Installs what `npm run package` (scripts/package/build.sh) needs on a Debian
# x86-64 machine, as root: the cross compilers, libsystemd-dev for arm64 and
# armhf (multiarch), dpkg-dev (dpkg-shlibdeps), lintian, file, and
# qemu-user-static with the arm libraries the official Node.js binaries need,
# to load the arm natives. Idempotent; quiet when everything is there.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "package setup: run me as root" >&2; exit 1; }
for arch in arm64 armhf; do
  dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
done
packages=(dpkg-dev lintian file build-essential python3 libsystemd-dev
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
  libsystemd-dev:arm64 libsystemd-dev:armhf libstdc++6:arm64 libstdc++6:armhf libatomic1:armhf
  qemu-user-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "package setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # libsystemd-dev of each architecture at the installed libsystemd0's version (multiarch packages must match).
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
