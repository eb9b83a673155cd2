#!/usr/bin/env bash
# The recipe of one VM image for the VM suite (test/vm/): a Debian root made by
# mmdebstrap, with the out-of-tree gpio-sim module built against its own kernel
# and Raspberry Pi OS's gpio group and udev rules, on a raw ext4 disk; next to
# it the image's kernel and initrd, which QEMU boots directly. Run as root:
#
#   build.sh SUITE ARCH OUTDIR        SUITE: trixie | bookworm; ARCH: amd64 | arm64
#
# The host driver (test/vm/images.ts) keys its cache on a hash of this
# directory (and of the host's Node.js for bookworm), so any change here makes
# the next run build afresh. Writes OUTDIR/{disk.raw,vmlinuz,initrd.img,versions.json}.
set -euo pipefail

suite=$1
arch=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
MIRROR=${ASYNCDEMO_VM_MIRROR:-http://deb.debian.org/debian}

say() { printf 'vm image %s/%s: %s\n' "$suite" "$arch" "$*"; }

case "$arch" in
  amd64 | arm64) ;;
  *) echo "unsupported architecture $arch" >&2; exit 64 ;;
esac

# What a Pi owner's system has: systemd and udev, Node.js, libgpiod's tools,
# python3, and no compiler: asyncdemo arrives as a Debian package with its
# natives built (npm run package), as on a Pi. The gpio-sim module is built in
# the image against its own kernel headers, and the build tools go again
# (purged, with what they pulled in), which the last hook checks.
packages=(
  "linux-image-$arch"
  systemd-sysv udev kmod initramfs-tools dbus sudo passwd procps util-linux e2fsprogs
  python3 gpiod
  # The fleet test (test/fleet/) reaches guests over ssh, as Ansible reaches Pis;
  # sshd is disabled here and started only by that test's phase. python3-apt:
  # Ansible's apt module (Raspberry Pi OS has it).
  openssh-server openssh-sftp-server iproute2 python3-apt
)
case "$suite" in
  # trixie: Debian's own Node.js 20.
  trixie) packages+=(nodejs) ;;
  # bookworm's Node.js is 18: a nodejs package made from this machine's Node.js
  # (20 or later) stands in for NodeSource's, below.
  bookworm) ;;
  *) echo "unsupported suite $suite" >&2; exit 64 ;;
esac

work=$(mktemp -d "${out%/}.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

hooks=(
  # gpio-sim: the build tools, the kernel's headers and source, for this one module.
  --customize-hook="chroot \"\$1\" apt-get install -y -qq --no-install-recommends linux-headers-$arch linux-source make >/dev/null"
  # The module's build files, and the two kernel sources it needs, unpacked on
  # this machine (natively, fast even for arm64) from the image's linux-source.
  --customize-hook="mkdir -p \"\$1/root/gpio-sim\" && cp '$here/gpio-sim/Makefile' '$here/gpio-sim/build.sh' \"\$1/root/gpio-sim/\""
  --customize-hook="tar -xJf \"\$1\"/usr/src/linux-source-*.tar.xz -C \"\$1/root/gpio-sim\" --strip-components=1 --wildcards '*/drivers/gpio/gpio-sim.c' '*/drivers/gpio/*.h' '*/kernel/irq/irq_sim.c'"
  --customize-hook='chroot "$1" sh /root/gpio-sim/build.sh'
  # And away with them again, with everything they pulled in (gcc, make, the headers).
  --customize-hook="cp '$here/gpio-sim/purge.sh' \"\$1/root/\" && chroot \"\$1\" sh /root/purge.sh && rm \"\$1/root/purge.sh\""
  # Raspberry Pi OS's arrangement: a gpio group, and udev handing it the GPIO devices.
  --customize-hook='chroot "$1" groupadd --system gpio'
  --customize-hook="cp '$here/rootfs/99-gpio.rules' \"\$1/etc/udev/rules.d/\""
  # The suite's own boot units: mount the share, make the chip, run the phase.
  --customize-hook="cp '$here/rootfs/asyncdemo-vm-boot' \"\$1/usr/local/sbin/\" && chmod 0755 \"\$1/usr/local/sbin/asyncdemo-vm-boot\""
  --customize-hook="cp '$here/rootfs/asyncdemo-vm-setup.service' '$here/rootfs/asyncdemo-vm-phase.service' \"\$1/etc/systemd/system/\""
  --customize-hook='chroot "$1" systemctl enable asyncdemo-vm-setup.service asyncdemo-vm-phase.service'
  --customize-hook='chroot "$1" systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true'
  # Quiet and lean: no gettys or timers competing for an emulated CPU.
  --customize-hook='chroot "$1" systemctl mask getty.target serial-getty@ttyS0.service serial-getty@ttyAMA0.service apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer >/dev/null 2>&1 || true'
  --customize-hook='printf "/dev/vda / ext4 defaults 0 1\n" > "$1/etc/fstab"; echo asyncdemo-vm > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 asyncdemo-vm\n" > "$1/etc/hosts"'
)
if [ "$suite" = bookworm ]; then
  [ "$(dpkg --print-architecture)" = "$arch" ] || { echo "bookworm takes this machine's Node.js: build it for $(dpkg --print-architecture) only" >&2; exit 64; }
  node_bin=$(readlink -f "$(command -v node)")
  bash "$here/nodejs-standin.sh" "$node_bin" "$("$node_bin" -p process.versions.node)-1nodesource1" "$work/nodejs.deb"
  hooks+=(--customize-hook="cp '$work/nodejs.deb' \"\$1/tmp/\" && chroot \"\$1\" dpkg -i /tmp/nodejs.deb >/dev/null && rm \"\$1/tmp/nodejs.deb\"")
fi
# No compiler, no libsystemd-dev: what the package must do without.
hooks+=(--customize-hook='if chroot "$1" dpkg-query -W -f="\${db:Status-Abbrev} \${Package}\n" | grep -E "^ii +(gcc|gcc-[0-9]+|g\+\+|g\+\+-[0-9]+|cpp|cpp-[0-9]+|make|build-essential|libsystemd-dev|linux-headers-.*|libnode-dev|npm)$"; then echo "the image still has build tools (above)" >&2; exit 1; fi')
# What the image holds, for test/README.md's table and the report.
hooks+=(--customize-hook="cp '$here/rootfs/versions.sh' \"\$1/root/\" && chroot \"\$1\" sh /root/versions.sh $suite $arch > \"\$1/versions.json\" && rm \"\$1/root/versions.sh\"")

say "mmdebstrap from $MIRROR"
mmdebstrap --mode=root --variant=apt --arch="$arch" \
  --aptopt='APT::Install-Recommends "false"' \
  --include="$(IFS=,; echo "${packages[*]}")" \
  "${hooks[@]}" \
  "$suite" "$root" "$MIRROR"

mkdir -p "$out"
mv "$root/versions.json" "$out/versions.json"
cp "$(ls "$root"/boot/vmlinuz-* | head -n1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | head -n1)" "$out/initrd.img"
say "ext4 disk"
rm -f "$out/disk.raw"
truncate -s 6G "$out/disk.raw"
mkfs.ext4 -q -F -L asyncdemo-vm -d "$root" "$out/disk.raw"
say "done: $(cat "$out/versions.json")"
