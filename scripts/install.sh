#!/usr/bin/env bash
# For an owner who builds on the Pi (or any Debian machine) itself: builds the
# Debian package for this machine from this checkout (npm run package) and
# installs it with apt. Everyone else gets the .deb built elsewhere and runs
# `sudo apt install ./asyncdemo_VERSION_ARCH.deb` (README: "On a
# Raspberry Pi"). Updates, removal and purge are apt's from then on.
#
#   sudo scripts/install.sh
set -euo pipefail
say() { printf 'asyncdemo install: %s\n' "$*"; }
die() { printf 'asyncdemo install: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0"
repo=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] \
  || die "Node.js 20 or later is needed to build (README: On a Raspberry Pi, step 1)"

# What the build needs here (the package itself needs none of it to run).
missing=()
for p in build-essential libsystemd-dev python3 dpkg-dev file; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing what the build needs: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Built as the owner of the checkout, so nothing in it becomes root's.
owner=$(stat -c %U "$repo")
as_owner() { if [ "$owner" = root ]; then "$@"; else runuser -u "$owner" -- "$@"; fi; }
out=$(mktemp -d /tmp/asyncdemo-install.XXXXXX)
chown "$owner" "$out"
trap 'rm -rf "$out"' EXIT
say "building the package for $arch in $repo (npm ci, npm run package)"
(cd "$repo" && as_owner npm ci --no-audit --no-fund --loglevel=error >/dev/null && as_owner bash scripts/package/build.sh --arch "$arch" --no-lintian --out "$out")
deb=$(ls "$out"/asyncdemo_*_"$arch".deb)
say "installing $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$deb"
say "done. Follow it with: journalctl -u asyncdemo -f   (and: asyncdemo status)"
