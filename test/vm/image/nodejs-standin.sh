#!/usr/bin/env bash
# A `nodejs` package made from a Node.js binary, standing in for NodeSource's
# (which ships /usr/bin/node): for an image or sandbox whose Node.js is not
# from a package of that name (bookworm's own nodejs is 18), and, at a higher
# VERSION, as "a nodejs upgrade" that fires asyncdemo's trigger on /usr/bin/node.
#
#   test/package/nodejs-standin.sh NODE VERSION OUT.deb
set -euo pipefail
node=$(readlink -f "$1")
version=$2
out=$3
work=$(mktemp -d /tmp/asyncdemo-nodejs.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/DEBIAN" "$work/root/usr/bin"
cp "$node" "$work/root/usr/bin/node"
chmod 0755 "$work/root/usr/bin/node"
arch=$(dpkg --print-architecture)
# Multi-Arch: allowed, as Debian's nodejs: node-acorn, node-corepack and the like depend on nodejs:any.
cat >"$work/root/DEBIAN/control" <<CONTROL
Package: nodejs
Version: $version
Architecture: $arch
Multi-Arch: allowed
Maintainer: asyncdemo tests <asyncdemo@users.noreply.github.com>
Depends: libc6, libstdc++6, libgcc-s1
Provides: nodejs-abi-$("$node" -p process.versions.modules)
Section: web
Priority: optional
Description: Node.js $("$node" --version), standing in for NodeSource's nodejs (asyncdemo's tests)
 The node binary alone, as /usr/bin/node.
CONTROL
# Not compressed: a guest under emulation makes one too, and xz of a 100 MB node takes minutes there.
dpkg-deb --root-owner-group -Znone --build "$work/root" "$out" >/dev/null
