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

# What a Pi owner's system has, plus what the installer would fetch (the guest
# has no network): systemd and udev, Node.js, build tools for the two native
# modules, libgpiod's tools, python3. linux-headers and linux-source build the
# gpio-sim module; the source is removed again once the module is built.
packages=(
  "linux-image-$arch" "linux-headers-$arch" linux-source
  systemd-sysv udev kmod initramfs-tools dbus sudo passwd procps util-linux e2fsprogs
  python3 build-essential libsystemd-dev gpiod
  # The fleet test (test/fleet/) reaches guests over ssh, as Ansible reaches Pis;
  # sshd is disabled here and started only by that test's phase.
  openssh-server openssh-sftp-server iproute2
)
case "$suite" in
  # trixie: Debian's own Node.js 20, its headers for node-gyp, and npm.
  trixie) packages+=(nodejs npm libnode-dev) ;;
  # bookworm's Node.js is 18: this machine's Node.js (20 or later) is copied in below.
  bookworm) ;;
  *) echo "unsupported suite $suite" >&2; exit 64 ;;
esac

work=$(mktemp -d "${out%/}.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

hooks=(
  # The module's build files, and the two kernel sources it needs, unpacked on
  # this machine (natively, fast even for arm64) from the image's linux-source.
  --customize-hook="mkdir -p \"\$1/root/gpio-sim\" && cp '$here/gpio-sim/Makefile' '$here/gpio-sim/build.sh' \"\$1/root/gpio-sim/\""
  --customize-hook="tar -xJf \"\$1\"/usr/src/linux-source-*.tar.xz -C \"\$1/root/gpio-sim\" --strip-components=1 --wildcards '*/drivers/gpio/gpio-sim.c' '*/drivers/gpio/*.h' '*/kernel/irq/irq_sim.c'"
  --customize-hook='chroot "$1" sh /root/gpio-sim/build.sh'
  --customize-hook='chroot "$1" sh -c "rm -rf /root/gpio-sim; apt-get purge -y -qq linux-source\* >/dev/null; apt-get clean"'
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
  # npm works offline from the cache shared in (the guest cannot reach the registry).
  --customize-hook="cp '$here/rootfs/npmrc' \"\$1/root/.npmrc\""
)
if [ "$suite" = bookworm ]; then
  [ "$(dpkg --print-architecture)" = "$arch" ] || { echo "bookworm takes this machine's Node.js: build it for $(dpkg --print-architecture) only" >&2; exit 64; }
  node_bin=$(command -v node)
  node_prefix=$(dirname "$(dirname "$(readlink -f "$node_bin")")")
  hooks+=(
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" \"\$1/usr/local/include\" && cp '$(readlink -f "$node_bin")' \"\$1/usr/local/bin/node\" && cp -a '$node_prefix/lib/node_modules/npm' \"\$1/usr/local/lib/node_modules/\" && cp -a '$node_prefix/include/node' \"\$1/usr/local/include/\""
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"; ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
    --customize-hook='echo "nodedir=/usr/local" >> "$1/root/.npmrc"'
  )
else
  hooks+=(--customize-hook='echo "nodedir=/usr" >> "$1/root/.npmrc"')
fi
# What the image holds, for the README's table and the report.
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
