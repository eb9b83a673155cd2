#!/usr/bin/env bash
# Makes a release archive of this checkout for the Ansible role: the files git
# knows (as a clone has them) plus the built dist/, so that no Pi builds the
# bundle. Prints the archive's path. The name carries a hash of the content:
# the same checkout gives the same archive, byte for byte, and the role
# installs a release once per host.
#
#   deploy/ansible/make-release.sh [OUTDIR]      (default OUTDIR: build/release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/build/release}
die() { printf 'make-release: %s\n' "$*" >&2; exit 1; }

[ -f "$repo/dist/main.js" ] || die "no dist/main.js: build the checkout first (npm ci)"
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
mkdir -p "$out"
list=$(mktemp /tmp/asyncdemo-release.XXXXXX)
tmp=$(mktemp "$out/.asyncdemo-release.XXXXXX")
trap 'rm -f "$list" "$tmp"' EXIT
# The code cache (dist/app.cache) fits only the Node that made it: install.sh makes it on the host.
{
  git -C "$repo" ls-files -z --cached --others --exclude-standard
  (cd "$repo" && find dist -type f ! -name app.cache -print0)
} | (cd "$repo" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) | LC_ALL=C sort -zu >"$list"
tar -C "$repo" --no-recursion --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=u+rw,go+r,go-w --null -cf - -T "$list" | gzip -n >"$tmp"
id=$(sha256sum "$tmp" | cut -c1-16)
archive=$out/asyncdemo-$version-$id.tar.gz
chmod 0644 "$tmp"
mv "$tmp" "$archive"
printf '%s\n' "$archive"
