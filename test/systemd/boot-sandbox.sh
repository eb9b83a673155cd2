#!/usr/bin/env bash
# Boots systemd as PID 1 of private namespaces, in a throwaway overlay of /.
# Run as: unshare --pid --fork --mount --uts --ipc --mount-proc boot-sandbox.sh DIR [SHARE...]
# where DIR is an empty directory to hold the overlay (a tmpfs is mounted on it)
# and each SHARE is a directory bound read-only at the same path inside: the
# repository under test, which the overlay of / would not show when it sits on
# another mount or under /tmp (the sandbox gets a fresh /tmp).
# Never boot systemd without the overlay and the chroot: its tmpfiles clean-up
# at boot would wipe the real /tmp.
set -euo pipefail
mount --make-rprivate /
base=$1
shift
mount -t tmpfs -o size=2g tmpfs "$base"
mkdir "$base/upper" "$base/work" "$base/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
root=$base/root
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
for share in "$@"; do
  mkdir -p "$root$share"
  mount --bind "$share" "$root$share"
  mount -o remount,bind,ro "$root$share"
done
# Only what the tests need: no gettys, timers or servers that happen to be installed here.
ln -sf /lib/systemd/system/basic.target "$root/etc/systemd/system/default.target"
for unit in getty.target timers.target console-getty.service serial-getty@.service getty@.service \
  systemd-timesyncd.service systemd-networkd.service systemd-resolved.service cron.service \
  postgresql.service redis-server.service nginx.service memcached.service docker.service containerd.service ssh.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# This machine may forbid maintainer scripts to start services (a policy-rc.d
# that exits 101, as in containers); a Pi has none, and the package's start
# and restart are under test.
rm -f "$root/usr/sbin/policy-rc.d"
hostname asyncdemo-sandbox
export container=other
exec chroot "$root" /lib/systemd/systemd --system
