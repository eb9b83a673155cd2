#!/usr/bin/env bash
# Makes "the previous release" of a built asyncdemo package, for the upgrade
# tests: the same files, a lower version (VERSION, default 0.0.1+1.g0000000,
# in the control file and in the bundle) and a shipped default config that differs from the new one (slowStepMs
# 100 -> 120), so that an upgrade has a changed conffile to deal with.
#
#   test/package/older.sh NEW.deb OUT.deb [VERSION]
set -euo pipefail
new=$1
out=$2
version=${3:-0.0.1+1.g0000000}
work=$(mktemp -d /tmp/asyncdemo-older.XXXXXX)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$new" "$work/root"
new_version=$(sed -n 's/^Version: //p' "$work/root/DEBIAN/control")
sed -i "s/^Version: .*/Version: $version/" "$work/root/DEBIAN/control"
# The bundle names its build (asyncdemo --version, asyncdemo status): the previous release's.
grep -qF "\"$new_version\"" "$work/root/usr/lib/asyncdemo/dist/app.js" || { echo "older.sh: the bundle does not carry $new_version" >&2; exit 1; }
sed -i "s/\"$new_version\"/\"$version\"/g" "$work/root/usr/lib/asyncdemo/dist/app.js"
sed -i 's/slowStepMs: 100/slowStepMs: 120/' "$work/root/etc/asyncdemo/config.yaml"
grep -q 'slowStepMs: 120' "$work/root/etc/asyncdemo/config.yaml" || { echo "older.sh: the default config has no 'slowStepMs: 100' to change" >&2; exit 1; }
(cd "$work/root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$work/root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$work/root" "$out" >/dev/null
