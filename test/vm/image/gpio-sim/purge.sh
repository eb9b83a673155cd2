#!/bin/sh
# Runs in the image's chroot (test/vm/image/build.sh) once gpio-sim.ko is
# built: the build tools go again, with all they pulled in (gcc, make, the
# kernel's headers and source), as a Pi has no compiler.
set -eu
rm -rf /root/gpio-sim
tools=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'linux-headers-*' 'linux-kbuild-*' 'linux-source*' make 2>/dev/null | awk '$1 == "ii" {print $2}')
# shellcheck disable=SC2086 # one package name per word
apt-get purge -y -qq --autoremove $tools >/dev/null
apt-get clean
echo "gpio-sim: purged $(echo $tools | wc -w) build packages and what they pulled in"
