#!/usr/bin/env bash
# The armhf package on armhf, once: an armhf Debian trixie root (mmdebstrap),
# run through qemu-user on this x86-64 machine, with Debian's own armhf
# nodejs and python3. The package is installed with dpkg in the root (no
# systemd runs there: the postinst makes the user and the code cache, and
# leaves the start to a systemd that is not there), then:
#   1. the sd-notify binding sends READY=1 (and STOPPING=1) to a test socket;
#   2. onoff's epoll loads (and its Epoll watches a file descriptor);
#   3. scenario 3 prints the tutorial's lines in order and exits 0;
#   4. check-config passes the shipped config (0) and refuses a broken one (78).
# Prints one "ok"/"not ok" line per check and "armhf: N passed, N failed".
#
#   sudo test/package/armhf.sh [asyncdemo_VERSION_armhf.deb]     (default: npm run package -- --arch armhf)
# Needs root, mmdebstrap, qemu-user-static and binfmt-support (the armhf handler is enabled here).
# The root is kept in ${ASYNCDEMO_VM_CACHE:-/var/cache/asyncdemo-vm}/armhf-trixie-root for the next run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${ASYNCDEMO_VM_CACHE:-/var/cache/asyncdemo-vm}
root=$cache/armhf-trixie-root
say() { printf '# armhf: %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "armhf: needs root (mmdebstrap, chroot)" >&2; exit 1; }
started=$(date +%s)

mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-arm ] || update-binfmts --enable qemu-arm
[ -e /proc/sys/fs/binfmt_misc/qemu-arm ] || { echo "armhf: no binfmt_misc handler for arm (apt install qemu-user-static binfmt-support)" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
  out=$(mktemp -d /tmp/asyncdemo-armhf.XXXXXX)
  trap 'rm -rf "$out"' EXIT
  bash "$repo/scripts/package/build.sh" --arch armhf --no-lintian --out "$out" | sed 's/^/# /'
  deb=$(ls "$out"/asyncdemo_*_armhf.deb)
fi

if [ ! -x "$root/usr/bin/node" ]; then
  say "making an armhf trixie root with nodejs and python3 in $root (mmdebstrap, qemu-user)"
  rm -rf "$root"
  mmdebstrap --variant=apt --arch=armhf --include=nodejs,python3,systemd,passwd,init-system-helpers \
    --aptopt='APT::Install-Recommends "false"' trixie "$root" http://deb.debian.org/debian >"$cache/armhf-trixie-root.log" 2>&1 \
    || { tail -n 20 "$cache/armhf-trixie-root.log" >&2; rm -rf "$root"; exit 1; }
fi
say "root: Debian $(cat "$root/etc/debian_version"), Node.js $(chroot "$root" node --version), $(chroot "$root" uname -m) through qemu-user"

# A fresh copy of the root for this run: the cached one stays clean.
run=$(mktemp -d /var/tmp/asyncdemo-armhf-run.XXXXXX)
cleanup() { for m in dev/pts dev proc sys; do umount "$run/root/$m" 2>/dev/null || true; done; rm -rf "$run"; }
trap 'cleanup; rm -rf "${out:-/nonexistent}"' EXIT
cp -a "$root" "$run/root"
r=$run/root
# This machine's settings for its own Node.js mean nothing in the root.
unset NODE_EXTRA_CA_CERTS
mount -t proc proc "$r/proc"; mount --bind /sys "$r/sys"; mount --bind /dev "$r/dev"; mount --bind /dev/pts "$r/dev/pts"
cp "$deb" "$r/tmp/asyncdemo.deb"
t0=$(date +%s)
chroot "$r" dpkg -i /tmp/asyncdemo.deb >"$run/install.log" 2>&1 || { cat "$run/install.log" >&2; echo "not ok - dpkg -i of the armhf package"; exit 1; }
say "dpkg -i took $(( $(date +%s) - t0 )) s under qemu-user ($(dpkg-deb -f "$deb" Version))"

pass=0; fail=0
check() { if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; printf '%s\n' "${3:-}" | sed 's/^/#   /'; fi; }

# 1. READY=1 through the binding, to a socket a python3 listener (armhf too) holds.
cat >"$r/tmp/listen.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)  # the daemon runs as the service user, as systemd's socket lets it
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(120)
got = []
while "STOPPING=1" not in "".join(got):
    got.append(s.recv(4096).decode())
print("\n".join(m.replace("\n", " | ") for m in got))
PY
chroot "$r" python3 /tmp/listen.py /tmp/notify.sock >"$run/notify.txt" 2>&1 &
listener=$!
for _ in $(seq 1 600); do [ -e "$r/tmp/notify.sock.ready" ] && break; sleep 0.1; done
scenario=$(chroot "$r" env NOTIFY_SOCKET=/tmp/notify.sock ASYNCDEMO_LOG_FILE=false runuser -u asyncdemo -- asyncdemo run --config /usr/lib/asyncdemo/config/examples/scenario3-cancel-stop.yaml 2>&1) && code=0 || code=$?
wait "$listener" || true
notify=$(cat "$run/notify.txt")
echo "$notify" | grep -q '^READY=1 | STATUS=' && ready=0 || ready=1
check "$ready" "the sd-notify binding (node-v$(chroot "$r" node -p process.versions.modules)-linux-arm) sends READY=1 to NOTIFY_SOCKET, and STOPPING=1 at the end: $(echo "$notify" | cut -c1-60 | tr '\n' ';')" "$notify"

# 2. epoll loads, and tells when a FIFO becomes readable.
chroot "$r" mkfifo /tmp/epoll.fifo
epoll=$(chroot "$r" node -e '
  const { Epoll } = require("/usr/lib/asyncdemo/node_modules/epoll");
  const fs = require("fs");
  const fd = fs.openSync("/tmp/epoll.fifo", fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const timer = setTimeout(() => { console.log("no event within 30 s"); process.exit(1); }, 30000);
  const poller = new Epoll((error, ready, events) => {
    if (error) throw error;
    console.log(`Epoll on ${process.arch}: fd ${ready} readable (events ${events})`);
    poller.remove(ready).close(); clearTimeout(timer);
  });
  poller.add(fd, Epoll.EPOLLIN);
  fs.writeSync(fd, "x");' 2>&1) && e=0 || e=1
check "$e" "onoff's epoll loads and reports a FIFO readable: $epoll" "$epoll"

# 3. scenario 3: the tutorial's lines in order, no operationsub11, exit 0.
lines=$(echo "$scenario" | sed -n 's/.*"msg":"\([^"]*\)".*/\1/p' | grep -E '^(start operation|operation1|start operationsub|operationsub10|operation2|operation3|operationsub11)$' | tr '\n' ',')
[ "$code" = 0 ] && [ "$lines" = "start operation,operation1,start operationsub,operationsub10,operation2,operation3," ] && s3=0 || s3=1
check "$s3" "scenario 3 exits $code with: $lines" "$scenario"

# 4. check-config.
good=$(chroot "$r" asyncdemo check-config /etc/asyncdemo/config.yaml 2>&1) && g=$? || g=$?
printf 'tasks:\n  a: {autostart: true, steps: [{sleep: soon}]}\n' >"$r/tmp/broken.yaml"
bad=$(chroot "$r" asyncdemo check-config /tmp/broken.yaml 2>&1) && b=$? || b=$?
[ "$g" = 0 ] && [ "$b" = 78 ] && cc=0 || cc=1
check "$cc" "check-config: the shipped config exits $g ($(echo "$good" | head -n1)), a broken one $b" "$good
$bad"

say "$(chroot "$r" asyncdemo --version)"
say "whole run $(( $(date +%s) - started )) s"
echo "armhf: $pass passed, $fail failed"
[ "$fail" = 0 ]
